from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests import services
from tests.conftest import make_settings
from voicegate.cli.demo import ensure_demo_user


def test_the_demo_banner_names_the_key_and_the_console(
    tmp_path: Path,
    database_url: str,
    redis_url: str | None,
    storage_settings: dict[str, object],
    capsys: pytest.CaptureFixture[str],
):
    settings = make_settings(tmp_path, database_url, redis_url, storage_settings)
    try:
        ensure_demo_user(settings, "127.0.0.1", 8000)
    finally:
        asyncio.run(services.truncate_url(database_url))
    banner = capsys.readouterr().out
    key = (tmp_path / "demo_api_key").read_text().strip()
    assert key in banner
    assert "Web console: http://127.0.0.1:8000/console" in banner
