"""`POST /api/v1/audio/tts/generations`: the native synthesis under a model name, billed exactly like it."""

from __future__ import annotations

import base64
from decimal import Decimal

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import Customer, create_customer
from tests.hub.conftest import balance, ledger_kinds, upstream_calls, usage_rows

URL = "/api/v1/audio/tts/generations"
NATIVE = "/api/v1/resemble/tts/synthesize"
TEXT = "The hub speaks through the very same synthesis. " * 2


async def test_billed_exactly_like_native(
    client: httpx.AsyncClient, simulator: httpx.AsyncClient, session: AsyncSession, customer: Customer, voice_uuid: str
):
    native = await client.post(NATIVE, json={"voice_uuid": voice_uuid, "text": TEXT}, headers=customer.headers)
    assert native.status_code == 200, native.text
    hub = await client.post(
        URL, json={"input": TEXT, "model": "resemble/default", "voice": voice_uuid}, headers=customer.headers
    )
    assert hub.status_code == 200, hub.text
    body = hub.json()
    assert body["model"] == "resemble/chatterbox"
    assert body["provider"] == "resemble"
    assert base64.b64decode(body["audio_content"])
    assert body["audio_url"]
    assert body["output_format"] == "mp3"
    assert body["billing"] == native.json()["billing"]
    charged = Decimal(body["billing"]["charged"]) + Decimal(native.json()["billing"]["charged"])
    assert await balance(session, customer.user.id) == Decimal("10") - charged
    rows = await usage_rows(session, customer.user.id)
    assert [(r.capability, r.unit, r.quantity, r.charged_usd) for r in rows] == [
        (rows[0].capability, rows[0].unit, rows[0].quantity, rows[0].charged_usd)
    ] * 2
    assert await ledger_kinds(session, body["request_id"]) == await ledger_kinds(session, native.json()["request_id"])
    synth = await upstream_calls(simulator, "/synthesize")
    assert "model" not in synth[-1]["json"]  # the default lets Resemble choose from the voice


async def test_named_model_reaches_resemble(
    client: httpx.AsyncClient, simulator: httpx.AsyncClient, customer: Customer, voice_uuid: str
):
    body = {"input": "Turbo, please.", "model": "resemble/chatterbox-turbo", "voice": voice_uuid}
    body |= {"response_format": "wav", "additional_params": {"sample_rate": 16000}}
    response = await client.post(URL, json=body, headers=customer.headers)
    assert response.status_code == 200, response.text
    assert response.json()["model"] == "resemble/chatterbox-turbo"
    assert response.json()["output_format"] == "wav"
    sent = (await upstream_calls(simulator, "/synthesize"))[-1]["json"]
    assert sent["model"] == "chatterbox-turbo"
    assert sent["sample_rate"] == "16000"


async def test_other_provider_is_400_listing_models(
    client: httpx.AsyncClient, simulator: httpx.AsyncClient, session: AsyncSession, customer: Customer
):
    response = await client.post(
        URL, json={"input": "hi", "model": "openai/tts-1", "voice": "alloy"}, headers=customer.headers
    )
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "'openai'" in detail
    for name in ("resemble/default", "resemble/chatterbox", "resemble/chatterbox-turbo"):
        assert name in detail
    assert await upstream_calls(simulator, "/synthesize") == []
    assert await balance(session, customer.user.id) == Decimal("10")


async def test_byok_field_is_refused_while_byok_is_off_and_never_echoed(
    client: httpx.AsyncClient, simulator: httpx.AsyncClient, customer: Customer, voice_uuid: str
):
    secret = "rsm-own-key-0123456789"
    body = {"input": "hi", "model": "resemble/default", "voice": voice_uuid, "byok_api_key": secret}
    response = await client.post(URL, json=body, headers=customer.headers)
    assert response.status_code == 400
    assert "bring-your-own-key is not enabled" in response.json()["detail"]
    assert secret not in response.text
    assert await upstream_calls(simulator, "/synthesize") == []


async def test_idempotency_key_replays_without_second_charge(
    client: httpx.AsyncClient, session: AsyncSession, customer: Customer, voice_uuid: str
):
    headers = {**customer.headers, "Idempotency-Key": "hub-tts-1"}
    body = {"input": "Only once.", "voice": voice_uuid}
    first = await client.post(URL, json=body, headers=headers)
    again = await client.post(URL, json=body, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["request_id"] == first.json()["request_id"]
    assert len(await usage_rows(session, customer.user.id)) == 1
    other = await client.post(URL, json={**body, "input": "Something else."}, headers=headers)
    assert other.status_code == 422


async def test_bad_input_changes_nothing(
    client: httpx.AsyncClient, simulator: httpx.AsyncClient, session: AsyncSession, customer: Customer, voice_uuid: str
):
    bad = [
        {"input": "hi"},
        {"input": "", "voice": voice_uuid},
        {"input": "   ", "voice": voice_uuid},
        {"input": "hi", "voice": voice_uuid, "speed": 3},
        {"input": "hi", "voice": voice_uuid, "response_format": "opus"},
        {"input": "hi", "voice": voice_uuid, "additional_params": {"pitch": 2}},
        {"input": "hi", "voice": voice_uuid, "model": "resemble/speech-to-text"},
        {"input": "hi", "voice": voice_uuid, "instructions": "whisper it"},
    ]
    for body in bad:
        response = await client.post(URL, json=body, headers=customer.headers)
        assert response.status_code in (400, 422), (body, response.text)
        assert response.json()["detail"]
    assert await upstream_calls(simulator, "/synthesize") == []
    assert await balance(session, customer.user.id) == Decimal("10")


async def test_insufficient_credit_is_402(client: httpx.AsyncClient, session: AsyncSession, voice_uuid: str):
    poor = await create_customer(session, credits="0.0001")
    response = await client.post(URL, json={"input": "hello " * 50, "voice": voice_uuid}, headers=poor.headers)
    assert response.status_code == 402
