"""Several accounts on one simulator: each key its own objects and wallet, the request log names the account."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from typer.testing import CliRunner

from voicegate.cli.__main__ import app as cli_app
from voicegate.simulator import create_simulator_app

FIRST, SECOND = "first-key-1111", "second-key-2222"
VOICE = "55592656"


@pytest.fixture
async def sim() -> AsyncIterator[httpx.AsyncClient]:
    app = create_simulator_app(FIRST, extra_api_keys=[SECOND], job_delay_s=0)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim") as client:
        yield client
    await app.state.simulator.aclose()


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_each_key_is_an_account_and_others_are_refused(sim: httpx.AsyncClient):
    assert (await sim.get("/api/v2/voices?page=1", headers=auth(FIRST))).status_code == 200
    assert (await sim.get("/api/v2/voices?page=1", headers=auth(SECOND))).status_code == 200
    assert (await sim.get("/api/v2/voices?page=1", headers=auth("third-key-3333"))).status_code == 401

    created = await sim.post(
        "/api/v2/projects",
        json={"name": "mine", "description": "d", "is_collaborative": False, "is_archived": False},
        headers=auth(SECOND),
    )
    assert created.status_code in (200, 201), created.text
    assert (await sim.get("/api/v2/projects", headers=auth(SECOND))).json()["items"]
    assert (await sim.get("/api/v2/projects", headers=auth(FIRST))).json()["items"] == []


async def test_the_request_log_names_and_filters_the_account(sim: httpx.AsyncClient):
    await sim.get("/api/v2/voices?page=1", headers=auth(FIRST))
    await sim.get("/api/v2/voices/" + VOICE, headers=auth(SECOND))
    await sim.get("/api/v2/voices?page=1", headers=auth("third-key-3333"))

    log = (await sim.get("/_sim/requests")).json()
    assert [(e["account"], e["account_last4"]) for e in log] == [(0, "1111"), (1, "2222"), (None, "3333")]
    by_index = (await sim.get("/_sim/requests", params={"account": "1"})).json()
    by_last4 = (await sim.get("/_sim/requests", params={"account": "2222"})).json()
    assert by_index == by_last4
    assert [e["path"] for e in by_index] == [f"/api/v2/voices/{VOICE}"]
    assert SECOND not in str(log)


async def test_each_account_has_its_own_wallet(sim: httpx.AsyncClient):
    speech = {"voice_uuid": VOICE, "data": "Charged to the second account."}
    assert (await sim.post("/synthesize", json=speech, headers=auth(SECOND))).status_code == 200

    first = (await sim.get("/api/v2/wallet/transactions", headers=auth(FIRST))).json()["transactions"]
    second = (await sim.get("/api/v2/wallet/transactions", headers=auth(SECOND))).json()["transactions"]
    assert [row["transaction_type"] for row in second].count("usage_deduction") == 1
    assert [row for row in first if row["transaction_type"] == "usage_deduction"] == []
    assert (await sim.get("/_sim/billing")).json()["deductions"] == 0  # the hooks show the first account's


def test_the_cli_takes_api_key_repeatedly(monkeypatch: pytest.MonkeyPatch):
    seen: dict[str, object] = {}
    monkeypatch.setattr("voicegate.simulator.server.serve", lambda **kwargs: seen.update(kwargs))

    result = CliRunner().invoke(cli_app, ["simulator", "--api-key", FIRST, "--api-key", SECOND, "--api-key", FIRST])

    assert result.exit_code == 0, result.output
    assert (seen["api_key"], seen["extra_api_keys"]) == (FIRST, (SECOND,))
