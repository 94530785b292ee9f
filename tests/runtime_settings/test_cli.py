"""`voicegate settings list|get|set` on the gateway's own database: a running gateway follows what it sets."""

from __future__ import annotations

import asyncio
import getpass
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from tests import services
from tests.factories import ADMIN_HEADERS
from voicegate.cli.__main__ import app
from voicegate.config import Settings, get_settings

from .conftest import CHANGES, GATED, gated_app


@pytest.fixture
def cli(database_url: str, var_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("VAR_DIR", str(var_dir))
    monkeypatch.delenv("RESEMBLE_BUSINESS_PLAN_ACTIVE", raising=False)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()
    asyncio.run(services.truncate_url(database_url))


def run(cli: CliRunner, *args: str) -> dict[str, Any]:
    result = cli.invoke(app, ["settings", *args, "--json"])
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def gateway_answers(settings: Settings) -> tuple[int, dict[str, Any]]:
    """A fresh gateway on the same database: the gated route's status and the newest audit entry."""

    async def ask() -> tuple[int, dict[str, Any]]:
        gateway = gated_app(settings)
        async with gateway.router.lifespan_context(gateway):
            transport = httpx.ASGITransport(app=gateway)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
                status = (await http.post(GATED)).status_code
                changes = (await http.get(CHANGES, headers=ADMIN_HEADERS)).json()["items"]
        return status, changes[0] if changes else {}

    return asyncio.run(ask())


def test_set_opens_the_gate_of_a_running_gateway(cli: CliRunner, settings: Settings) -> None:
    assert run(cli, "list")["settings"][0] | {"updated_at": None} == {
        "name": "business_plan_active",
        "value": False,
        "source": "env",
        "default": False,
        "updated_at": None,
        "updated_by": None,
    }
    assert gateway_answers(settings)[0] == 503

    changed = run(cli, "set", "business_plan_active", "true")
    assert (changed["value"], changed["source"]) == (True, "database")
    assert changed["updated_by"] == f"cli:{getpass.getuser()}"
    assert run(cli, "get", "business_plan_active") == changed

    status, audit = gateway_answers(settings)
    assert status == 200
    assert (audit["old_value"], audit["new_value"], audit["actor"], audit["request_id"]) == (
        False,
        True,
        f"cli:{getpass.getuser()}",
        None,
    )


def test_plain_output_names_value_and_source(cli: CliRunner) -> None:
    result = cli.invoke(app, ["settings", "list"])
    assert result.exit_code == 0, result.output
    assert "business_plan_active = false (env)" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["set", "business_plan_active", "maybe"], "must be a boolean"),
        (["set", "no_such_setting", "true"], "unknown setting"),
        (["get", "no_such_setting"], "unknown setting"),
    ],
)
def test_bad_input_exits_non_zero_and_changes_nothing(cli: CliRunner, args: list[str], message: str) -> None:
    result = cli.invoke(app, ["settings", *args])
    assert result.exit_code == 1
    assert message in result.output.lower()
    assert run(cli, "get", "business_plan_active")["source"] == "env"
