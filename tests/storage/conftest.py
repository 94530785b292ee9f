from __future__ import annotations

import os
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, NoReturn

import boto3
import pytest
from mypy_boto3_s3 import S3Client

from tests.storage.support import CREDENTIALS, PUBLIC_BASE_URL, SECRET
from voicegate.storage.local import LocalBackend
from voicegate.storage.s3 import S3Backend

IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture
def local(tmp_path: Path) -> LocalBackend:
    return LocalBackend(tmp_path / "storage", public_base_url=PUBLIC_BASE_URL, secret=SECRET)


def _unavailable(reason: str) -> NoReturn:
    if IN_CI:
        pytest.fail(f"moto server unavailable, and CI=true requires it: {reason}", pytrace=False)
    pytest.skip(f"moto server unavailable: {reason}")


def start_moto_server(timeout_s: float = 20) -> tuple[Any, str]:
    """moto's S3 server on a free local port, and its endpoint; fails (CI) or skips when it cannot start."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:
        _unavailable(f"cannot import moto.server ({exc})")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    failures: list[BaseException] = []

    def start() -> None:
        try:
            server.start()
        except BaseException as exc:
            failures.append(exc)

    # start() waits forever if the server thread dies before binding, so wait on it from a helper thread.
    starter = threading.Thread(target=start, daemon=True)
    starter.start()
    starter.join(timeout=timeout_s)
    if failures:
        _unavailable(f"start() raised {failures[0]!r}")
    if starter.is_alive():
        _unavailable(f"did not start within {timeout_s} s")
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A real moto S3 server reached over HTTP."""
    server, endpoint = start_moto_server()
    yield endpoint
    server.stop()


@pytest.fixture(scope="session")
def s3_client(moto_endpoint: str) -> S3Client:
    return boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    ).client("s3", endpoint_url=moto_endpoint)


@pytest.fixture(scope="session")
def bucket() -> str:
    return f"voicegate-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
async def s3(moto_endpoint: str, bucket: str) -> AsyncIterator[S3Backend]:
    backend = S3Backend(name="s3", bucket=bucket, region="us-east-1", endpoint_url=moto_endpoint, **CREDENTIALS)
    await backend.ensure_bucket()
    yield backend
    backend.close()


@pytest.fixture
def key() -> str:
    return f"tts-output/user_1/2026/04/27/120000-{uuid.uuid4().hex}.wav"
