"""`voicegate users erase USER_ID`: the same erasure as the admin route, from the command line."""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from typer.testing import CliRunner, Result

from tests.erasure.support import assert_nothing_reachable, erase, populate, report_of
from tests.factories import Customer
from voicegate import resources as shared
from voicegate.cli import __main__ as cli
from voicegate.config import Settings
from voicegate.resources import SIMULATOR_HOST, Resources
from voicegate.upstream.client import ResembleClient

pytestmark = pytest.mark.usefixtures("business_plan")


@pytest.fixture
def command_line(app: FastAPI, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The CLI on the test's database and storage, reaching the test's simulator as its Resemble (a CLI run builds
    its own resources; without a key of its own it would get a simulator of its own, which holds nothing)."""
    simulator = app.state.resources.simulator
    opened = shared.open_resources

    @contextlib.asynccontextmanager
    async def open_resources(config: Settings, gateway: FastAPI) -> AsyncIterator[Resources]:
        async with opened(config, gateway) as fresh:
            simulated = config.model_copy(
                update={
                    "resemble_base_url": f"{SIMULATOR_HOST}/api/v2",
                    "resemble_synth_url": SIMULATOR_HOST,
                    "resemble_api_key": SecretStr("simulator"),
                }
            )
            upstream = ResembleClient.from_settings(
                simulated, http=httpx.AsyncClient(transport=httpx.ASGITransport(app=simulator))
            )
            try:
                yield dataclasses.replace(fresh, upstream=upstream)
            finally:
                await upstream.aclose()

    monkeypatch.setattr(shared, "open_resources", open_resources)
    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    return CliRunner()


async def invoke(runner: CliRunner, *args: str) -> Result:
    # The command runs its own event loop, so it runs in a worker thread while the test's loop serves the app.
    return await anyio.to_thread.run_sync(lambda: runner.invoke(cli.app, list(args)))


def printed(result: Result) -> dict[str, Any]:
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


async def test_erases_like_the_route_and_repeats_its_report(
    app: FastAPI,
    client: httpx.AsyncClient,
    simulator: httpx.AsyncClient,
    customer: Customer,
    command_line: CliRunner,
):
    held = await populate(app, client, customer)

    report = printed(await invoke(command_line, "users", "erase", customer.user.id, "--json"))

    assert report["status"] == "erased"
    assert report["actor"].startswith("cli:")
    assert report["resources_deleted"] == {"agent": 1, "identity": 1, "project": 1, "recording": 1, "voice": 1}
    assert report["job_records_deleted_upstream"] == {"detect": 1}
    assert report["objects_removed_total"] == 8
    # Another process revoked the key: this one's credential cache forgets it within 5 s; skip the wait.
    app.state.resources.credentials.clear()
    await assert_nothing_reachable(app, client, simulator, customer, held)
    assert printed(await invoke(command_line, "users", "erase", customer.user.id, "--json")) == report
    assert report_of(await erase(client, customer.user.id)) == report


async def test_unknown_user_exits_non_zero(command_line: CliRunner):
    result = await invoke(command_line, "users", "erase", "nobody")
    assert result.exit_code == 1
    assert "User not found" in result.output
