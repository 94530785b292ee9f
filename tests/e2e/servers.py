"""Start the simulator and the gateway as real processes on free ports, the way an operator would."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code < 500:
                return
        time.sleep(0.2)
    raise RuntimeError(f"server at {url} did not come up:\n{log.read_text()[-4000:]}")


def wait_until_logged(text: str, process: subprocess.Popen[bytes], log: Path, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        if text in log.read_text(errors="replace"):
            return
        time.sleep(0.2)
    raise RuntimeError(f"{text!r} never appeared in {log}:\n{log.read_text()[-4000:]}")


@dataclass(frozen=True)
class Server:
    args: list[str]
    env: Mapping[str, str]
    health_url: str | None
    """None for a process that serves no HTTP (a Celery worker): `ready_text` in its log says it is up."""
    log: Path
    ready_text: str | None = None
    startup_timeout_s: float = 60


@contextlib.contextmanager
def serve(args: list[str], env: Mapping[str, str], health_url: str, log: Path) -> Iterator[None]:
    with serve_together(Server(args, env, health_url, log)):
        yield


@contextlib.contextmanager
def serve_together(*servers: Server) -> Iterator[None]:
    """Start every server first, then wait for each: on a busy machine an interpreter alone takes seconds to
    import the application, and nothing here needs another server up to start."""
    with contextlib.ExitStack() as running:
        started = [(server, running.enter_context(_process(server))) for server in servers]
        for server, process in started:
            if server.health_url is not None:
                wait_until_up(server.health_url, process, server.log, server.startup_timeout_s)
            elif server.ready_text is not None:
                wait_until_logged(server.ready_text, process, server.log, server.startup_timeout_s)
        yield


@contextlib.contextmanager
def _process(server: Server) -> Iterator[subprocess.Popen[bytes]]:
    with server.log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "voicegate.cli", *server.args],
            env={**os.environ, **server.env},
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
