"""Run the simulator under uvicorn, in the foreground (`serve`) or in a background thread (tests)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
from fastapi import FastAPI

from .app import DEFAULT_JOB_DELAY_S, create_simulator_app
from .plans import DEFAULT_PLAN, Plan
from .state import VoiceDesignShape


def serve(
    host: str = "127.0.0.1",
    port: int = 8090,
    api_key: str | None = None,
    *,
    extra_api_keys: tuple[str, ...] = (),
    job_delay_s: float = DEFAULT_JOB_DELAY_S,
    webhook_secret: str | None = None,
    plan: Plan = DEFAULT_PLAN,
    voice_design_shape: VoiceDesignShape = "array",
) -> None:
    """Serve until interrupted. Point the gateway at `http://host:port/api/v2` and `http://host:port`
    (and `RESEMBLE_STREAM_URL` at `ws://host:port/stream`).

    `job_delay_s` is how long asynchronous jobs take; with `webhook_secret` callbacks are signed
    (`X-Resemble-Signature`); on the `flex` plan Business-only calls answer 403; `voice_design_shape` picks which
    documented `POST /voice-design` answer is given ("array" or "object"). `extra_api_keys` are more accounts, each
    with its own state, after the first (`api_key`).
    """
    app = create_simulator_app(
        api_key,
        extra_api_keys=extra_api_keys,
        job_delay_s=job_delay_s,
        webhook_secret=webhook_secret,
        plan=plan,
        voice_design_shape=voice_design_shape,
    )
    uvicorn.run(app, host=host, port=port, lifespan="on", ws="websockets-sansio")


@dataclass(frozen=True)
class RunningSimulator:
    app: FastAPI
    base_url: str  # e.g. http://127.0.0.1:54321

    @property
    def app_api_url(self) -> str:
        """Stands in for https://app.resemble.ai/api/v2."""
        return f"{self.base_url}/api/v2"

    @property
    def synth_url(self) -> str:
        """Stands in for https://f.cluster.resemble.ai (POST {synth_url}/synthesize)."""
        return self.base_url

    @property
    def stream_url(self) -> str:
        """Stands in for wss://websocket.cluster.resemble.ai/stream."""
        return self.base_url.replace("http://", "ws://", 1) + "/stream"


@contextmanager
def running_simulator(
    app: FastAPI | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    startup_timeout: float = 10.0,
    shutdown_timeout: int = 3,
    **uvicorn_options: Any,
) -> Iterator[RunningSimulator]:
    """Serve `app` (default: a fresh simulator) with uvicorn in a daemon thread; port 0 picks a free port.

    On exit the server stops; requests still in flight (e.g. a long `timeout` fault) are cancelled after
    `shutdown_timeout` seconds. `uvicorn_options` go to `uvicorn.Config` (e.g. `http="h11"`,
    `loop="asyncio"`).
    """
    app = app if app is not None else create_simulator_app()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    config = uvicorn.Config(
        app,
        lifespan="on",
        ws="websockets-sansio",
        log_config=None,
        log_level="warning",
        timeout_graceful_shutdown=shutdown_timeout,
        **uvicorn_options,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="resemble-simulator", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + startup_timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("Resemble simulator failed to start")
            time.sleep(0.01)
        bound_host, bound_port = sock.getsockname()[:2]
        yield RunningSimulator(app=app, base_url=f"http://{bound_host}:{bound_port}")
    finally:
        server.should_exit = True
        thread.join(timeout=shutdown_timeout + 5)
        sock.close()
