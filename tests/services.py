"""Reaching the real services the suite can run against, and resetting them between tests."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voicegate.db.base import Base
from voicegate.db.session import create_engine

TEST_BUCKET = "voicegate-test"


def _unavailable(what: str, in_ci: bool) -> None:
    message = f"{what} is not reachable"
    if in_ci:
        pytest.fail(f"{message}, and CI=true requires it", pytrace=False)
    pytest.skip(message)


def _port_open(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=2):
        return True
    return False


def require_database(url: str, *, in_ci: bool) -> None:
    if url.startswith("sqlite"):
        return
    parts = urlsplit(url)
    if not _port_open(parts.hostname or "127.0.0.1", parts.port or 5432):
        _unavailable(f"PostgreSQL at {parts.hostname}:{parts.port}", in_ci)


def require_redis(url: str, *, in_ci: bool) -> None:
    parts = urlsplit(url)
    if not _port_open(parts.hostname or "127.0.0.1", parts.port or 6379):
        _unavailable(f"Redis at {parts.hostname}:{parts.port}", in_ci)


def reset_database(url: str) -> None:
    """Start the session from an empty database so the migrations are exercised from scratch."""
    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[1])
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
        return

    async def drop() -> None:
        engine = create_engine(url)
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
        await engine.dispose()

    asyncio.run(drop())


def sibling_database(url: str, suffix: str) -> str:
    """An empty database of its own next to `url` (a second SQLite file, or a second PostgreSQL database), for
    servers the tests start as separate processes: their background tasks must not touch the suite's rows."""
    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[1])
        sibling = path.with_name(f"{path.stem}_{suffix}{path.suffix}")
        for extra in ("", "-wal", "-shm"):
            sibling.with_name(sibling.name + extra).unlink(missing_ok=True)
        return f"sqlite+aiosqlite:///{sibling}"
    base, _, name = url.rpartition("/")
    name, _, query = name.partition("?")
    sibling_name = f"{name}_{suffix}"

    async def recreate() -> None:
        engine = create_engine(url).execution_options(isolation_level="AUTOCOMMIT")
        async with engine.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{sibling_name}" WITH (FORCE)'))
            await connection.execute(text(f'CREATE DATABASE "{sibling_name}"'))
        await engine.dispose()

    asyncio.run(recreate())
    return f"{base}/{sibling_name}" + (f"?{query}" if query else "")


async def truncate_all(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            await connection.execute(table.delete())


async def truncate_url(url: str) -> None:
    """`truncate_all` for a test that holds no engine (its apps are gone, or it runs outside them)."""
    engine = create_engine(url)
    try:
        await truncate_all(engine)
    finally:
        await engine.dispose()


@contextlib.contextmanager
def moto_s3(*, in_ci: bool) -> Iterator[str]:
    """moto's S3 server over real HTTP on a free port, with the test bucket created."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:  # pragma: no cover - moto is a dev dependency
        _unavailable("moto's S3 server", in_ci)
        raise
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        s3.create_bucket(Bucket=TEST_BUCKET)
        yield endpoint
    finally:
        server.stop()
