"""Calls with the user's own key: sent to their Resemble account (the simulator's account B), never to ours, and
charged only the platform fee through the usual hold/capture/usage path; after DELETE, back to the shared key."""

from __future__ import annotations

from decimal import Decimal

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import Customer, create_customer
from tests.resemble.jobs.helpers import submit, upload, wait_terminal
from voicegate.byok.service import account_for_request_key
from voicegate.config import Settings
from voicegate.db.models import ProviderResembleJob, ProviderResembleUsage
from voicegate.resemble.jobs.service import KEY_GONE
from voicegate.resemble.jobs.tasks import poll_open_jobs

from .conftest import (
    ACCOUNT_B,
    ACCOUNT_B_KEY,
    BYOK,
    SHARED,
    balance,
    gateway,
    requests_of,
    store_key,
    synthesize,
)


async def usage_rows(session: AsyncSession, customer: Customer) -> list[ProviderResembleUsage]:
    user_id = customer.user.id
    session.expire_all()  # rows written by the gateway's own sessions since this one last looked
    rows = await session.scalars(select(ProviderResembleUsage).where(ProviderResembleUsage.user_id == user_id))
    return list(rows)


class TestSynthesis:
    async def test_tts_goes_to_the_users_account_and_costs_nothing_by_default(
        self, client: httpx.AsyncClient, simulator: httpx.AsyncClient, session: AsyncSession, byok_customer: Customer
    ):
        before = await balance(client, byok_customer)
        await simulator.delete("/_sim/requests")

        response = await synthesize(client, byok_customer)

        assert response.status_code == 200, response.text
        billing = response.json()["billing"]
        assert (billing["provider_cost"], billing["markup_pct"], billing["charged"]) == ("0.000000", "0.00", "0.000000")
        assert Decimal(billing["quantity"]) > 0  # the audio seconds are still counted
        [call] = await requests_of(simulator, ACCOUNT_B, "/synthesize")
        assert call["status"] == 200
        assert await requests_of(simulator, SHARED, "/synthesize") == []
        assert await balance(client, byok_customer) == before
        [usage] = await usage_rows(session, byok_customer)
        assert usage.byok is True
        assert usage.provider_cost_usd == 0

    async def test_after_delete_calls_go_back_to_the_shared_key_and_its_prices(
        self, client: httpx.AsyncClient, simulator: httpx.AsyncClient, session: AsyncSession, byok_customer: Customer
    ):
        assert (await client.delete(BYOK, headers=byok_customer.headers)).status_code == 204
        await simulator.delete("/_sim/requests")

        response = await synthesize(client, byok_customer)

        assert response.status_code == 200, response.text
        assert Decimal(response.json()["billing"]["provider_cost"]) > 0
        assert len(await requests_of(simulator, SHARED, "/synthesize")) == 1
        assert await requests_of(simulator, ACCOUNT_B, "/synthesize") == []
        [usage] = await usage_rows(session, byok_customer)
        assert usage.byok is False

    async def test_a_configured_platform_fee_is_charged_exactly(self, settings: Settings):
        fees = {
            "byok_platform_fee_usd": Decimal("0.0125"),
            "byok_platform_fee_per_unit": {"tts": Decimal("0.0003")},
        }
        async with gateway(settings.model_copy(update=fees)) as (app, client, sim):
            async with app.state.resources.sessionmaker() as session:
                customer = await create_customer(session, credits="1.00")
            await store_key(client, customer)

            response = await synthesize(client, customer)

            assert response.status_code == 200, response.text
            billing = response.json()["billing"]
            seconds = Decimal(billing["quantity"])
            expected = (Decimal("0.0125") + seconds * Decimal("0.0003")).quantize(Decimal("0.000001"))
            assert Decimal(billing["charged"]) == expected
            assert (billing["provider_cost"], billing["unit_price"]) == ("0.000000", "0.000300")
            assert await balance(client, customer) == Decimal("1.00") - expected
            assert await requests_of(sim, SHARED, "/synthesize") == []

    async def test_a_per_request_key_calls_that_account_at_the_byok_card(
        self, app: FastAPI, simulator: httpx.AsyncClient
    ):
        await simulator.delete("/_sim/requests")
        upstream, rate_card = account_for_request_key(app.state.resources, ACCOUNT_B_KEY)

        await upstream.list_voices(page=1, page_size=10)

        assert len(await requests_of(simulator, ACCOUNT_B)) == 1
        assert await requests_of(simulator, SHARED) == []
        assert rate_card.quote("tts", Decimal(3)).byok is True
        assert rate_card.quote("tts", Decimal(3)).charged == 0
        assert account_for_request_key(app.state.resources, ACCOUNT_B_KEY)[0] is upstream  # one client per key


class TestJobs:
    async def test_an_stt_job_is_submitted_and_polled_with_the_users_key(
        self, client: httpx.AsyncClient, simulator: httpx.AsyncClient, session: AsyncSession, byok_customer: Customer
    ):
        source = await upload(client, byok_customer)
        before = await balance(client, byok_customer)
        await simulator.delete("/_sim/requests")

        created = await submit(client, byok_customer, "stt", source["url"])
        assert created.status_code == 201, created.text
        job = await wait_terminal(client, byok_customer, "stt", created.json()["job_id"])

        assert job["status"] == "completed", job
        assert job["billing"]["provider_cost"] == job["billing"]["charged"] == "0.000000"
        calls = await requests_of(simulator, ACCOUNT_B, "/speech-to-text")
        assert [c["method"] for c in calls][:2] == ["POST", "GET"]  # submitted, then polled, with account B's key
        assert await requests_of(simulator, SHARED, "/speech-to-text") == []
        row = await session.get(ProviderResembleJob, job["job_id"])
        assert row is not None
        assert row.byok_fingerprint is not None
        assert ACCOUNT_B_KEY not in row.byok_fingerprint
        assert await balance(client, byok_customer) == before
        [usage] = await usage_rows(session, byok_customer)
        assert (usage.byok, usage.job_id) == (True, job["job_id"])

    async def test_a_job_whose_key_was_removed_fails_free_and_says_why(
        self, app: FastAPI, client: httpx.AsyncClient, simulator: httpx.AsyncClient, session: AsyncSession
    ):
        customer = await create_customer(session, credits="10.00")
        source = await upload(client, customer)
        await simulator.post("/_sim/faults", json={"path": "speech-to-text", "mode": "job_hang", "count": 1})
        await store_key(client, customer)
        created = await submit(client, customer, "stt", source["url"])
        assert created.status_code == 201, created.text
        held = await balance(client, customer)
        assert (await client.delete(BYOK, headers=customer.headers)).status_code == 204
        await simulator.delete("/_sim/requests")

        await poll_open_jobs(app.state.resources)  # the poller reaches the job first

        response = await client.get(f"/api/v1/resemble/stt/{created.json()['job_id']}", headers=customer.headers)
        assert response.status_code == 200
        body = response.json()
        assert (body["status"], body["error"]) == ("failed", KEY_GONE)
        assert "billing" not in body
        assert await usage_rows(session, customer) == []
        assert await balance(client, customer) == held  # the hold (0 with the default fee) is released
        assert await requests_of(simulator, SHARED, "/speech-to-text") == []  # never asked with another key
