"""Shared steps for the retention tests: the CLI pointed at the test app's database and storage, and reading asset
rows with a fresh session."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from typing import Any

import anyio.to_thread
import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from voicegate.cli.__main__ import app as cli_app
from voicegate.config import Settings, get_settings
from voicegate.db.models import ProviderResembleAsset
from voicegate.kit.time import utc_now

Cli = Callable[..., Awaitable[Any]]


def later(days: float) -> str:
    """An ISO 8601 moment `days` from now, for `--as-of`."""
    return (utc_now() + timedelta(days=days)).isoformat()


def cli_environment(settings: Settings) -> dict[str, str]:
    env = {
        "DATABASE_URL": str(settings.database_url),
        "VAR_DIR": str(settings.var_dir),
        "JWT_SECRET": "x" * 48,
        "STORAGE_BACKEND": settings.storage_backend,
    }
    if settings.storage_backend == "local":
        env["STORAGE_LOCAL_DIR"] = str(settings.effective_storage_dir)
    else:
        env.update(
            S3_ENDPOINT_URL=str(settings.s3_endpoint_url),
            S3_BUCKET=str(settings.s3_bucket),
            S3_REGION=settings.s3_region,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
        )
    return env


def cli_for(environment: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    """`await cli("storage", "expire", ...)`: the command run in a thread (it runs its own event loop), `--json`
    added unless `as_json=False`; returns the parsed output, or the result itself when `exit_code` is not 0 or the
    output is text."""
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()

    async def run(*args: str, exit_code: int = 0, as_json: bool = True) -> Any:
        argv = [*args, "--json"] if as_json else list(args)
        result = await anyio.to_thread.run_sync(lambda: CliRunner().invoke(cli_app, argv))
        assert result.exit_code == exit_code, result.output
        if exit_code or not as_json:
            return result
        return json.loads(result.stdout.strip().splitlines()[-1])

    yield run
    get_settings.cache_clear()


async def asset_row(app: FastAPI, asset_id: str) -> dict[str, Any]:
    """The asset row's columns, read in a session of its own."""
    async with app.state.resources.sessionmaker() as session:
        asset = await session.get(ProviderResembleAsset, asset_id)
        assert asset is not None
        return {column.key: getattr(asset, column.key) for column in ProviderResembleAsset.__table__.columns}


async def set_expiry(app: FastAPI, asset_id: str, days_from_now: float) -> None:
    async with app.state.resources.sessionmaker() as session:
        asset = await session.get(ProviderResembleAsset, asset_id)
        assert asset is not None
        asset.expires_at = utc_now() + timedelta(days=days_from_now)
        await session.commit()
