"""`GET /api/v1/admin/reconciliation`: both sides compared through the in-process simulator's wallet."""

from __future__ import annotations

import logging
from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import ADMIN_HEADERS, Customer, create_customer
from tests.resemble.voices.conftest import add_recording, build, create_voice

from .conftest import (
    RECONCILIATION,
    check,
    plant_balance_drift,
    plant_orphan_usage,
    plant_stale_hold,
    plant_unbilled_job,
    report,
    skew,
    synthesize,
)

CHECKS = ["ledger_matches_balance", "no_hold_past_ttl", "completed_job_has_one_usage", "usage_has_request"]


@pytest.fixture
async def customer(session: AsyncSession) -> Customer:
    return await create_customer(session, credits="10.00")


def gauge(exposition: str, name: str) -> float:
    (line,) = [line for line in exposition.splitlines() if line.startswith(f"{name} ")]
    return float(line.split()[1])


class TestAgreement:
    async def test_no_skew_reconciles_to_the_micro_dollar(self, client: httpx.AsyncClient, customer: Customer):
        cost = await synthesize(client, customer, "The first line to bill.")
        cost += await synthesize(client, customer, "And a second, somewhat longer, line to bill as well.")
        body = await report(client)
        comparison = body["comparison"]
        assert body["ok"] is True
        assert comparison["outcome"] == "ok"
        assert comparison["ours_usd"] == comparison["theirs"]["total_usd"] == str(cost)
        assert (comparison["usage_rows"], comparison["theirs"]["deductions"]) == (2, 2)
        assert (comparison["drift_usd"], comparison["drift_pct"], comparison["threshold_pct"]) == (
            "0.000000",
            "0.0000",
            "1",
        )
        assert [found["name"] for found in body["checks"]] == CHECKS
        assert all(found["passed"] for found in body["checks"])
        metrics = (await client.get("/metrics")).text
        assert gauge(metrics, "voicegate_reconciliation_drift_ratio") == 0.0
        assert gauge(metrics, "voicegate_reconciliation_last_run_ok") == 1.0

    async def test_nothing_on_either_side_is_no_drift(self, client: httpx.AsyncClient):
        comparison = (await report(client, "1h"))["comparison"]
        assert (comparison["outcome"], comparison["ours_usd"], comparison["theirs"]["total_usd"]) == (
            "ok",
            "0.000000",
            "0.000000",
        )


class TestDrift:
    async def test_five_percent_more_at_resemble_alarms(
        self,
        client: httpx.AsyncClient,
        simulator: httpx.AsyncClient,
        customer: Customer,
        caplog: pytest.LogCaptureFixture,
    ):
        await skew(simulator, 5)
        cost = await synthesize(client, customer, "A line Resemble overcharges for.")
        with caplog.at_level(logging.ERROR, logger="voicegate.reconciliation"):
            body = await report(client)
        comparison = body["comparison"]
        assert body["ok"] is False
        assert comparison["outcome"] == "drift"
        assert Decimal(comparison["theirs"]["total_usd"]) == (cost * Decimal("1.05")).quantize(Decimal("0.000001"))
        assert Decimal(comparison["drift_pct"]) == pytest.approx(Decimal(5), abs=Decimal("0.01"))
        (logged,) = [record for record in caplog.records if record.getMessage() == "reconciliation_drift"]
        assert logged.levelno == logging.ERROR
        assert (logged.ours_usd, logged.theirs_usd) == (comparison["ours_usd"], comparison["theirs"]["total_usd"])
        metrics = (await client.get("/metrics")).text
        assert gauge(metrics, "voicegate_reconciliation_drift_ratio") == pytest.approx(0.05, abs=1e-4)
        assert gauge(metrics, "voicegate_reconciliation_last_run_ok") == 0.0

    async def test_half_a_percent_is_within_the_threshold(
        self, client: httpx.AsyncClient, simulator: httpx.AsyncClient, customer: Customer
    ):
        response = await simulator.post("/_sim/billing", json={"skew_pct": "0.5"})
        assert response.status_code == 200
        await synthesize(client, customer, "A line Resemble overcharges for, a little.")
        body = await report(client)
        assert (body["ok"], body["comparison"]["outcome"]) == (True, "ok")
        # Each side rounds to the micro-dollar: on a tenth of a cent, a 0.5 % skew shows as 0.48 %.
        assert Decimal(body["comparison"]["drift_pct"]) == pytest.approx(Decimal("0.5"), abs=Decimal("0.05"))


class TestResembleUnavailable:
    async def test_a_failing_wallet_endpoint_is_a_field_of_the_report(
        self, client: httpx.AsyncClient, simulator: httpx.AsyncClient, customer: Customer
    ):
        await synthesize(client, customer, "Billed while the ledger is down.")
        fault = await simulator.post("/_sim/faults", json={"path": "wallet/transactions", "status": 500, "count": -1})
        assert fault.status_code == 201
        body = await report(client)
        comparison = body["comparison"]
        assert (body["ok"], comparison["outcome"]) == (False, "resemble_unavailable")
        assert comparison["theirs"]["available"] is False
        assert comparison["theirs"]["total_usd"] is None
        assert "'upstream_status': 500" in comparison["theirs"]["error"]
        assert comparison["ours_usd"] != "0.000000"
        assert all(found["passed"] for found in body["checks"])  # our own checks still ran


class TestInternalChecks:
    async def test_a_balance_off_its_ledger_is_listed(
        self, client: httpx.AsyncClient, session: AsyncSession, customer: Customer
    ):
        await plant_balance_drift(session, customer)
        body = await report(client)
        found = check(body, "ledger_matches_balance")
        assert (found["passed"], found["count"], body["ok"]) == (False, 1, False)
        assert found["offenders"] == [f"{customer.user.id}: balance 99.000000, ledger 10.000000"]

    async def test_a_hold_open_past_its_ttl_is_listed(
        self, client: httpx.AsyncClient, session: AsyncSession, customer: Customer
    ):
        hold_id = await plant_stale_hold(session, customer)
        found = check(await report(client), "no_hold_past_ttl")
        assert (found["passed"], found["count"], found["offenders"]) == (False, 1, [hold_id])

    async def test_a_completed_job_without_usage_is_listed(
        self, client: httpx.AsyncClient, session: AsyncSession, customer: Customer
    ):
        job_id = await plant_unbilled_job(session, customer)
        found = check(await report(client), "completed_job_has_one_usage")
        assert (found["passed"], found["count"], found["offenders"]) == (False, 1, [job_id])

    async def test_a_usage_row_without_its_request_is_listed(
        self, client: httpx.AsyncClient, app: FastAPI, customer: Customer
    ):
        usage_id = await plant_orphan_usage(app.state.resources.engine, customer)
        body = await report(client)
        found = check(body, "usage_has_request")
        assert (found["passed"], found["count"], found["offenders"]) == (False, 1, [usage_id])
        assert body["comparison"]["usage_rows"] == 0  # three days old: outside the 24 h window


class TestWindow:
    async def test_the_window_bounds_what_is_compared(self, client: httpx.AsyncClient, customer: Customer):
        await synthesize(client, customer, "Inside every window.")
        body = await report(client, "7d")
        assert (body["window"], body["comparison"]["usage_rows"]) == ("7d", 1)
        assert body["start"] < body["end"]

    @pytest.mark.parametrize("window", ["", "abc", "24", "0h", "32d", "1s", "-1h", "9999999h"])
    async def test_a_bad_window_is_a_422(self, client: httpx.AsyncClient, window: str):
        response = await client.get(RECONCILIATION, params={"window": window}, headers=ADMIN_HEADERS)
        assert response.status_code == 422
        assert "window" in str(response.json()["detail"])

    async def test_the_report_needs_the_admin_key(self, client: httpx.AsyncClient):
        assert (await client.get(RECONCILIATION)).status_code == 401


@pytest.mark.usefixtures("business_plan")
class TestVoiceMonths:
    async def test_a_built_voice_month_reconciles(self, client: httpx.AsyncClient, customer: Customer):
        voice = await create_voice(client, customer)
        await add_recording(client, customer, voice["uuid"])
        assert (await build(client, customer, voice["uuid"])).status_code == 200
        comparison = (await report(client))["comparison"]
        assert comparison["outcome"] == "ok"
        assert (comparison["usage_rows"], comparison["theirs"]["deductions"]) == (1, 1)
        assert Decimal(comparison["ours_usd"]) in (Decimal(2), Decimal(5))
