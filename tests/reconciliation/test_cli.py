"""`voicegate reconcile`: the gateway and the CLI both talk to one simulator served over HTTP, as to Resemble."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner, Result

from tests.conftest import make_settings
from tests.factories import Customer, create_customer
from voicegate.cli.__main__ import app as cli_app
from voicegate.config import Settings, get_settings
from voicegate.simulator import create_simulator_app
from voicegate.simulator.server import RunningSimulator, running_simulator

from .conftest import plant_stale_hold, skew, synthesize

SIM_KEY = "sim-reconcile-key"


@pytest.fixture
def resemble() -> Iterator[RunningSimulator]:
    with running_simulator(create_simulator_app(SIM_KEY)) as running:
        yield running


@pytest.fixture
def settings(
    var_dir: Path,
    database_url: str,
    redis_url: str | None,
    storage_settings: dict[str, object],
    resemble: RunningSimulator,
) -> Settings:
    return make_settings(var_dir, database_url, redis_url, storage_settings).model_copy(
        update={
            "resemble_api_key": SecretStr(SIM_KEY),
            "resemble_base_url": resemble.app_api_url,
            "resemble_synth_url": resemble.synth_url,
        }
    )


@pytest.fixture
async def simulator(resemble: RunningSimulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=resemble.base_url) as http:
        yield http


@pytest.fixture
def cli_env(settings: Settings, resemble: RunningSimulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("DATABASE_URL", str(settings.database_url))
    monkeypatch.setenv("VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("RESEMBLE_API_KEY", SIM_KEY)
    monkeypatch.setenv("RESEMBLE_BASE_URL", resemble.app_api_url)
    monkeypatch.setenv("RESEMBLE_SYNTH_URL", resemble.synth_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
async def customer(session: AsyncSession) -> Customer:
    return await create_customer(session, credits="10.00")


async def invoke(*args: str) -> Result:
    return await asyncio.to_thread(CliRunner().invoke, cli_app, ["reconcile", *args])


def last_json(result: Result) -> dict[str, Any]:
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


@pytest.mark.usefixtures("cli_env")
class TestReconcileCommand:
    async def test_no_skew_passes_and_exits_zero(self, client: httpx.AsyncClient, customer: Customer):
        cost = await synthesize(client, customer, "Billed once, counted twice.")
        result = await invoke("--window", "24h", "--json")
        assert result.exit_code == 0, result.output
        body = last_json(result)
        assert body["ok"] is True
        assert body["comparison"]["ours_usd"] == body["comparison"]["theirs"]["total_usd"] == str(cost)
        assert body["comparison"]["theirs"]["source"].endswith("/api/v2/wallet/transactions")

    async def test_a_five_percent_skew_exits_one(
        self, client: httpx.AsyncClient, simulator: httpx.AsyncClient, customer: Customer
    ):
        await skew(simulator, 5)
        await synthesize(client, customer, "Billed once, charged more.")
        result = await invoke("--json")
        assert result.exit_code == 1, result.output
        body = last_json(result)
        assert (body["ok"], body["window"], body["comparison"]["outcome"]) == (False, "24h", "drift")

    async def test_the_text_report_names_the_outcome_and_the_checks(
        self, client: httpx.AsyncClient, session: AsyncSession, customer: Customer
    ):
        await synthesize(client, customer, "Billed once.")
        hold_id = await plant_stale_hold(session, customer)
        result = await invoke()
        assert result.exit_code == 1, result.output  # the checks fail even though the money agrees
        assert "outcome: ok" in result.stdout
        assert "check no_hold_past_ttl: FAIL (1)" in result.stdout
        assert f"  - {hold_id}" in result.stdout
        assert "ok: false" in result.stdout

    async def test_an_unreachable_ledger_exits_one(self, simulator: httpx.AsyncClient):
        fault = await simulator.post("/_sim/faults", json={"path": "wallet", "status": 503, "count": -1})
        assert fault.status_code == 201
        result = await invoke("--json")
        assert result.exit_code == 1, result.output
        theirs = last_json(result)["comparison"]["theirs"]
        assert (theirs["available"], theirs["total_usd"]) == (False, None)

    async def test_a_configured_billing_base_url_is_used(
        self, resemble: RunningSimulator, monkeypatch: pytest.MonkeyPatch
    ):
        monkeypatch.setenv("RESEMBLE_BILLING_BASE_URL", f"{resemble.base_url}/billing/api/v1")
        get_settings.cache_clear()
        result = await invoke("--json")
        assert result.exit_code == 0, result.output
        assert last_json(result)["comparison"]["theirs"]["source"] == (
            f"{resemble.base_url}/billing/api/v1/wallet/transactions"
        )

    @pytest.mark.parametrize("window", ["soon", "0m", "40d"])
    async def test_a_bad_window_is_a_usage_error(self, window: str):
        result = await invoke("--window", window)
        assert result.exit_code == 2
        assert "window" in result.output

    async def test_without_an_api_key_it_says_where_to_look(self, monkeypatch: pytest.MonkeyPatch):
        monkeypatch.delenv("RESEMBLE_API_KEY")
        get_settings.cache_clear()
        result = await invoke()
        assert result.exit_code == 1
        assert "RESEMBLE_API_KEY" in result.output
