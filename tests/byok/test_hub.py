"""The hub's generic routes with bring-your-own-key: a key sent with the request (`byok_api_key`, as the indoxhub
SDK sends it) or the caller's stored key takes the call to their Resemble account, never to ours, and is charged
the platform fee only; the per-request key is never stored, echoed or logged."""

from __future__ import annotations

import json
import logging
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import Customer, create_customer
from tests.resemble.jobs.helpers import make_wav
from voicegate.config import Settings
from voicegate.db.models import ProviderResembleUsage, UserProviderKey

from .conftest import ACCOUNT_B, ACCOUNT_B_KEY, SHARED, VOICE, balance, byok_settings, gateway, requests_of

TTS = "/api/v1/audio/tts/generations"
STT = "/api/v1/audio/stt/transcriptions"
WAV = make_wav(2.0)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"hub_stt_wait_s": 10.0})


async def usage_rows(session: AsyncSession, customer: Customer) -> list[ProviderResembleUsage]:
    user_id = customer.user.id
    session.expire_all()  # rows written by the gateway's own sessions since this one last looked
    rows = await session.scalars(select(ProviderResembleUsage).where(ProviderResembleUsage.user_id == user_id))
    return list(rows)


async def test_tts_with_a_request_key_goes_to_that_account_and_stores_nothing(
    client: httpx.AsyncClient,
    simulator: httpx.AsyncClient,
    session: AsyncSession,
    customer: Customer,
    caplog: pytest.LogCaptureFixture,
):
    await simulator.delete("/_sim/requests")
    before = await balance(client, customer)
    body = {"input": "Spoken on my own account.", "model": "resemble/default", "voice": VOICE}

    with caplog.at_level(logging.DEBUG):
        response = await client.post(TTS, json={**body, "byok_api_key": ACCOUNT_B_KEY}, headers=customer.headers)

    assert response.status_code == 200, response.text
    assert ACCOUNT_B_KEY not in response.text
    assert response.json()["billing"]["charged"] == "0.000000"
    assert len(await requests_of(simulator, ACCOUNT_B, "/synthesize")) == 1
    assert await requests_of(simulator, SHARED, "/synthesize") == []
    assert await balance(client, customer) == before
    [usage] = await usage_rows(session, customer)
    assert usage.byok is True
    assert usage.provider_cost_usd == 0
    stored = await session.scalars(select(UserProviderKey).where(UserProviderKey.user_id == usage.user_id))
    assert list(stored) == []
    assert ACCOUNT_B_KEY not in caplog.text

    # Without the field the same caller is back on the shared account, at the full price.
    shared = await client.post(TTS, json=body, headers=customer.headers)
    assert shared.status_code == 200, shared.text
    assert Decimal(shared.json()["billing"]["charged"]) > 0
    assert len(await requests_of(simulator, SHARED, "/synthesize")) == 1


async def test_stt_with_a_stored_key_runs_and_is_followed_on_that_account(
    client: httpx.AsyncClient, simulator: httpx.AsyncClient, session: AsyncSession, byok_customer: Customer
):
    await simulator.delete("/_sim/requests")
    before = await balance(client, byok_customer)

    response = await client.post(STT, files={"file": ("speech.wav", WAV, "audio/wav")}, headers=byok_customer.headers)

    assert response.status_code == 200, response.text
    assert response.json()["text"]
    assert len(await requests_of(simulator, ACCOUNT_B, "/speech-to-text")) >= 2  # the submit and its polls
    assert await requests_of(simulator, SHARED, "/speech-to-text") == []
    assert await balance(client, byok_customer) == before
    [usage] = await usage_rows(session, byok_customer)
    assert usage.byok is True
    assert usage.charged_usd == 0


async def test_a_configured_fee_is_the_whole_charge_on_a_request_key(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, customer: Customer
):
    fee = Decimal("0.002")
    async with gateway(byok_settings(settings, byok_platform_fee_usd=fee)) as (_, fee_client, sim):
        payer = await create_customer(session, credits="1.00")
        response = await fee_client.post(
            STT,
            files={"file": ("speech.wav", WAV, "audio/wav")},
            data={"byok_api_key": ACCOUNT_B_KEY},
            headers=payer.headers,
        )
        assert response.status_code == 200, response.text
        assert ACCOUNT_B_KEY not in json.dumps(response.json())
        assert await requests_of(sim, SHARED, "/speech-to-text") == []
        assert await balance(fee_client, payer) == Decimal("1.00") - fee
