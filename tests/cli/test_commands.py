"""The administrative CLI, run in-process against a fresh SQLite database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from voicegate.cli.__main__ import app
from voicegate.config import get_settings

pytestmark = pytest.mark.embedded_only


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def run(cli: CliRunner, *args: str) -> dict:
    result = cli.invoke(app, [*args[:2], "--json", *args[2:]])
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def test_user_credit_and_key_lifecycle(cli: CliRunner):
    user = run(cli, "users", "create", "--email", "cli@example.com", "--credits", "3.5")
    assert user["credits_usd"] == "3.500000"
    assert user["api_key"].startswith("vg_")

    assert run(cli, "credits", "grant", user["id"], "1.25")["credits_usd"] == "4.750000"
    assert run(cli, "credits", "grant", user["id"], "--", "-0.75")["credits_usd"] == "4.000000"

    key = run(cli, "keys", "issue", user["id"], "--name", "laptop")
    assert key["api_key"].startswith(f"vg_{key['prefix']}_")
    revoked = run(cli, "keys", "revoke", key["id"])
    assert revoked["revoked_at"]


def test_errors_exit_non_zero_with_a_message(cli: CliRunner):
    run(cli, "users", "create", "--email", "twice@example.com")
    again = cli.invoke(app, ["users", "create", "--email", "twice@example.com"])
    assert again.exit_code == 1
    assert "already exists" in again.output
    unknown = cli.invoke(app, ["credits", "grant", "nobody", "5"])
    assert unknown.exit_code == 1
    assert "not found" in unknown.output.lower()
    below_zero = cli.invoke(
        app, ["credits", "grant", run(cli, "users", "create", "--email", "z@example.com")["id"], "--", "-1"]
    )
    assert below_zero.exit_code == 1
    assert "below zero" in below_zero.output


def test_users_are_free_unless_created_or_moved_otherwise(cli: CliRunner):
    assert run(cli, "users", "create", "--email", "plain@example.com")["tier"] == "free"
    user = run(cli, "users", "create", "--email", "payer@example.com", "--tier", "paid")
    assert user["tier"] == "paid"
    assert run(cli, "users", "tier", user["id"], "free") == {"id": user["id"], "tier": "free"}


def test_an_unknown_tier_is_refused_with_the_choices(cli: CliRunner):
    created = cli.invoke(app, ["users", "create", "--email", "gold@example.com", "--tier", "gold"])
    assert created.exit_code == 2
    assert all(word in created.output for word in ("'gold'", "'free'", "'paid'"))
    moved = cli.invoke(app, ["users", "tier", "nobody", "paid"])
    assert moved.exit_code == 1
    assert "not found" in moved.output.lower()
