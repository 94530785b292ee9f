from __future__ import annotations

import asyncio
import base64
import io
import wave
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI
from mutagen.mp3 import MP3
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.downloads import download
from tests.factories import Customer, create_customer
from tests.resemble.catalogue.conftest import remove_upstream_voice
from voicegate.db.models import (
    CreditHold,
    IdempotencyKey,
    LedgerEntry,
    ProviderResembleAsset,
    ProviderResembleRequest,
    ProviderResembleUsage,
    User,
)
from voicegate.kit.time import utc_now

URL = "/api/v1/resemble/tts/synthesize"


async def balance(session: AsyncSession, user_id: str) -> Decimal:
    value = await session.scalar(select(User.balance_usd).where(User.id == user_id))
    assert value is not None
    return value


async def count(session: AsyncSession, model: type, user_id: str) -> int:
    return int(await session.scalar(select(func.count()).select_from(model).where(model.user_id == user_id)) or 0)


async def upstream_calls(simulator: httpx.AsyncClient) -> list[dict]:
    return [r for r in (await simulator.get("/_sim/requests")).json() if r["path"].endswith("/synthesize")]


class TestSynthesizeWav:
    async def test_audio_billing_and_storage_agree(
        self, client: httpx.AsyncClient, session: AsyncSession, customer: Customer, voice_uuid: str
    ):
        body = {
            "voice_uuid": voice_uuid,
            "text": "Hello from the gateway. " * 4,
            "output_format": "wav",
            "sample_rate": 16000,
            "precision": "PCM_16",
        }
        response = await client.post(URL, json=body, headers=customer.headers)
        assert response.status_code == 200, response.text
        result = response.json()

        audio = base64.b64decode(result["audio_content"])
        with wave.open(io.BytesIO(audio)) as wav:
            assert wav.getframerate() == 16000
            assert wav.getsampwidth() == 2
            assert wav.getnframes() / wav.getframerate() == pytest.approx(result["audio_duration"], abs=0.05)

        billing = result["billing"]
        assert billing["unit"] == "audio_seconds"
        assert billing["currency"] == "USD"
        assert isinstance(billing["quantity"], str)  # exact, like the money computed from it
        assert float(billing["quantity"]) == pytest.approx(result["audio_duration"])
        provider_cost = (Decimal(billing["quantity"]) * Decimal("0.0005")).quantize(Decimal("0.000001"))
        assert Decimal(billing["provider_cost"]) == provider_cost
        assert Decimal(billing["charged"]) == (provider_cost * Decimal("1.2")).quantize(Decimal("0.000001"))
        assert await balance(session, customer.user.id) == Decimal("10") - Decimal(billing["charged"])

        assert "audio_content" not in result["raw_response"]
        assert result["raw_response"]["duration"] == pytest.approx(result["audio_duration"])
        expires = result["expires_at"]
        assert expires.endswith("Z")
        assert await download(client, result["audio_url"]) == audio

        asset = await session.scalar(
            select(ProviderResembleAsset).where(ProviderResembleAsset.request_id == result["request_id"])
        )
        assert asset is not None
        assert asset.storage_key.startswith(f"tts-output/{customer.user.id}/")
        assert asset.storage_key.endswith(f"-{result['request_id']}.wav")
        assert asset.expires_at is not None
        assert asset.expires_at - asset.created_at == timedelta(days=7)
        assert await count(session, ProviderResembleUsage, customer.user.id) == 1

    async def test_mp3_duration_matches(self, client: httpx.AsyncClient, customer: Customer, voice_uuid: str):
        body = {"voice_uuid": voice_uuid, "text": "An mp3, please. " * 5, "output_format": "mp3"}
        result = (await client.post(URL, json=body, headers=customer.headers)).json()
        audio = base64.b64decode(result["audio_content"])
        assert MP3(io.BytesIO(audio)).info.length == pytest.approx(result["audio_duration"], abs=0.1)
        assert result["audio_url"]


class TestBadInputNeverReachesUpstream:
    @pytest.mark.parametrize(
        "body",
        [
            {"text": "no voice"},
            {"voice_uuid": "v", "text": ""},
            {"voice_uuid": "v", "text": "   "},
            {"voice_uuid": "v", "text": "x" * 3001},
            {"voice_uuid": "v", "text": "hi", "output_format": "ogg"},
            {"voice_uuid": "v", "text": "hi", "sample_rate": 12345},
            {"voice_uuid": "v", "text": "hi", "precision": "PCM_8"},
            {"voice_uuid": "v", "text": "hi", "speed": 9},
            {"voice_uuid": "v", "text": "hi", "unexpected": True},
            {"voice_uuid": "../etc", "text": "hi"},
        ],
    )
    async def test_rejected_with_422(
        self, client: httpx.AsyncClient, simulator: httpx.AsyncClient, customer: Customer, body: dict
    ):
        response = await client.post(URL, json=body, headers=customer.headers)
        assert response.status_code == 422
        assert response.json()["detail"]
        assert await upstream_calls(simulator) == []

    async def test_malformed_json(self, client: httpx.AsyncClient, simulator: httpx.AsyncClient, customer: Customer):
        headers = {**customer.headers, "Content-Type": "application/json"}
        response = await client.post(URL, content=b'{"voice_uuid": ', headers=headers)
        assert response.status_code == 422
        assert await upstream_calls(simulator) == []


class TestCredits:
    async def test_insufficient_credits_is_402_without_upstream_call(
        self, client: httpx.AsyncClient, simulator: httpx.AsyncClient, session: AsyncSession, voice_uuid: str
    ):
        poor = await create_customer(session, credits="0.0001")
        response = await client.post(URL, json={"voice_uuid": voice_uuid, "text": "hello " * 50}, headers=poor.headers)
        assert response.status_code == 402
        assert "Insufficient credits" in response.json()["detail"]
        assert await upstream_calls(simulator) == []
        assert await balance(session, poor.user.id) == Decimal("0.0001")

    async def test_upstream_500_charges_nothing(
        self,
        client: httpx.AsyncClient,
        simulator: httpx.AsyncClient,
        session: AsyncSession,
        customer: Customer,
        voice_uuid: str,
    ):
        await simulator.post("/_sim/faults", json={"path": "/synthesize", "status": 500, "count": 1})
        response = await client.post(URL, json={"voice_uuid": voice_uuid, "text": "hi"}, headers=customer.headers)
        assert response.status_code == 502
        assert response.json()["detail"] == "Resemble upstream error"
        assert await balance(session, customer.user.id) == Decimal("10")
        assert await count(session, ProviderResembleUsage, customer.user.id) == 0
        failed = await session.scalar(
            select(ProviderResembleRequest).where(ProviderResembleRequest.user_id == customer.user.id)
        )
        assert failed is not None
        assert (failed.status, failed.upstream_status) == ("failed", 500)
        hold = await session.scalar(select(CreditHold).where(CreditHold.user_id == customer.user.id))
        assert hold is not None
        assert hold.status == "released"

    async def test_malformed_upstream_answer_charges_nothing(
        self,
        client: httpx.AsyncClient,
        simulator: httpx.AsyncClient,
        session: AsyncSession,
        customer: Customer,
        voice_uuid: str,
    ):
        await simulator.post("/_sim/faults", json={"path": "/synthesize", "mode": "malformed", "count": 1})
        response = await client.post(URL, json={"voice_uuid": voice_uuid, "text": "hi"}, headers=customer.headers)
        assert response.status_code == 502
        assert await balance(session, customer.user.id) == Decimal("10")

    async def test_unknown_voice_is_404_before_any_hold_or_synthesis(
        self, client: httpx.AsyncClient, simulator: httpx.AsyncClient, session: AsyncSession, customer: Customer
    ):
        response = await client.post(URL, json={"voice_uuid": "doesnotexist", "text": "hi"}, headers=customer.headers)
        assert (response.status_code, response.json()) == (404, {"detail": "Voice not found"})
        assert await balance(session, customer.user.id) == Decimal("10")
        assert await count(session, CreditHold, customer.user.id) == 0
        assert await upstream_calls(simulator) == []

    async def test_upstream_rejection_passes_through_and_charges_nothing(
        self, app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, customer: Customer, voice_uuid: str
    ):
        remove_upstream_voice(app, voice_uuid)  # withdrawn at Resemble since the catalogue snapshot was taken
        response = await client.post(URL, json={"voice_uuid": voice_uuid, "text": "hi"}, headers=customer.headers)
        assert response.status_code in (400, 404, 422)
        assert await balance(session, customer.user.id) == Decimal("10")

    async def test_fifty_concurrent_requests_never_overdraw(
        self, client: httpx.AsyncClient, session: AsyncSession, voice_uuid: str
    ):
        # Each request holds about $0.0021 for 30 characters; $0.02 covers fewer than ten at once.
        customer = await create_customer(session, credits="0.02")
        body = {"voice_uuid": voice_uuid, "text": "Fifty at once, hold the line.."}
        responses = await asyncio.gather(*(client.post(URL, json=body, headers=customer.headers) for _ in range(50)))
        statuses = [r.status_code for r in responses]
        assert set(statuses) <= {200, 402}
        assert 0 < statuses.count(200) < 50
        spent = sum(Decimal(r.json()["billing"]["charged"]) for r in responses if r.status_code == 200)
        final = await balance(session, customer.user.id)
        assert final >= 0
        assert final == Decimal("0.02") - spent
        ledger_sum = await session.scalar(
            select(func.sum(LedgerEntry.amount_usd)).where(LedgerEntry.user_id == customer.user.id)
        )
        assert ledger_sum == final
        assert await count(session, ProviderResembleUsage, customer.user.id) == statuses.count(200)


class TestIdempotency:
    async def test_retry_replays_without_second_charge(
        self,
        client: httpx.AsyncClient,
        simulator: httpx.AsyncClient,
        session: AsyncSession,
        customer: Customer,
        voice_uuid: str,
    ):
        headers = {**customer.headers, "Idempotency-Key": "order-42"}
        body = {"voice_uuid": voice_uuid, "text": "Say it once."}
        first = await client.post(URL, json=body, headers=headers)
        second = await client.post(URL, json=body, headers=headers)
        assert first.status_code == second.status_code == 200
        assert second.headers["Idempotent-Replayed"] == "true"
        assert first.json()["request_id"] == second.json()["request_id"]
        assert len(await upstream_calls(simulator)) == 1
        assert await count(session, ProviderResembleUsage, customer.user.id) == 1
        charged = Decimal(first.json()["billing"]["charged"])
        assert await balance(session, customer.user.id) == Decimal("10") - charged

    async def test_the_record_keeps_no_audio_and_a_replay_rebuilds_it_from_the_stored_copy(
        self,
        client: httpx.AsyncClient,
        simulator: httpx.AsyncClient,
        session: AsyncSession,
        customer: Customer,
        voice_uuid: str,
    ):
        headers = {**customer.headers, "Idempotency-Key": "audio-once"}
        body = {"voice_uuid": voice_uuid, "text": "Keep the record small, please."}
        first = await client.post(URL, json=body, headers=headers)
        assert first.status_code == 200
        audio = first.json()["audio_content"]
        record = await session.scalar(
            select(IdempotencyKey.response_body).where(
                IdempotencyKey.user_id == customer.user.id, IdempotencyKey.key == "audio-once"
            )
        )
        assert record is not None
        assert audio[:200] not in record
        assert len(record) < 4096 < len(audio)
        second = await client.post(URL, json=body, headers=headers)
        assert second.status_code == 200
        assert second.headers["Idempotent-Replayed"] == "true"
        assert second.json() == first.json()
        assert len(await upstream_calls(simulator)) == 1

    async def test_a_replay_whose_audio_retention_removed_is_410_and_charges_nothing(
        self,
        client: httpx.AsyncClient,
        simulator: httpx.AsyncClient,
        session: AsyncSession,
        customer: Customer,
        voice_uuid: str,
    ):
        headers = {**customer.headers, "Idempotency-Key": "audio-expired"}
        body = {"voice_uuid": voice_uuid, "text": "Gone by the time you ask."}
        first = await client.post(URL, json=body, headers=headers)
        assert first.status_code == 200
        asset = await session.scalar(
            select(ProviderResembleAsset).where(ProviderResembleAsset.request_id == first.json()["request_id"])
        )
        assert asset is not None
        asset.deleted_at = utc_now()
        await session.commit()
        balance_before = await balance(session, customer.user.id)
        replay = await client.post(URL, json=body, headers=headers)
        assert replay.status_code == 410
        assert first.json()["request_id"] in replay.json()["detail"]
        assert len(await upstream_calls(simulator)) == 1
        assert await balance(session, customer.user.id) == balance_before

    async def test_same_key_other_body_is_422(self, client: httpx.AsyncClient, customer: Customer, voice_uuid: str):
        headers = {**customer.headers, "Idempotency-Key": "k1"}
        await client.post(URL, json={"voice_uuid": voice_uuid, "text": "one"}, headers=headers)
        response = await client.post(URL, json={"voice_uuid": voice_uuid, "text": "two"}, headers=headers)
        assert response.status_code == 422
        assert "different request" in response.json()["detail"]

    async def test_failed_attempt_can_be_retried(
        self, client: httpx.AsyncClient, simulator: httpx.AsyncClient, customer: Customer, voice_uuid: str
    ):
        await simulator.post("/_sim/faults", json={"path": "/synthesize", "status": 503, "count": 1})
        headers = {**customer.headers, "Idempotency-Key": "k2"}
        body = {"voice_uuid": voice_uuid, "text": "retry me"}
        assert (await client.post(URL, json=body, headers=headers)).status_code == 502
        assert (await client.post(URL, json=body, headers=headers)).status_code == 200

    async def test_keys_are_per_user(self, client: httpx.AsyncClient, session: AsyncSession, voice_uuid: str):
        first, second = await create_customer(session), await create_customer(session)
        body = {"voice_uuid": voice_uuid, "text": "mine"}
        a = await client.post(URL, json=body, headers={**first.headers, "Idempotency-Key": "same"})
        b = await client.post(URL, json=body, headers={**second.headers, "Idempotency-Key": "same"})
        assert a.json()["request_id"] != b.json()["request_id"]


class TestStorageOutage:
    async def test_audio_still_returned_and_charged(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        session: AsyncSession,
        customer: Customer,
        voice_uuid: str,
        monkeypatch: pytest.MonkeyPatch,
    ):
        from voicegate import metrics
        from voicegate.storage.base import StorageError

        async def broken_put(*_: object, **__: object) -> int:
            raise StorageError("bucket unreachable")

        monkeypatch.setattr(app.state.resources.storage, "put_bytes", broken_put)
        before = metrics.storage_failures.labels("put")._value.get()
        response = await client.post(URL, json={"voice_uuid": voice_uuid, "text": "keep me"}, headers=customer.headers)
        assert response.status_code == 200
        result = response.json()
        assert result["audio_url"] is None
        assert result["expires_at"] is None
        assert base64.b64decode(result["audio_content"])
        assert metrics.storage_failures.labels("put")._value.get() == before + 1
        assert await balance(session, customer.user.id) == Decimal("10") - Decimal(result["billing"]["charged"])

    async def test_an_unexpected_storage_bug_still_charges_for_delivered_audio(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        session: AsyncSession,
        customer: Customer,
        voice_uuid: str,
        monkeypatch: pytest.MonkeyPatch,
    ):
        async def buggy_put(*_: object, **__: object) -> int:
            raise RuntimeError("a bug, not an outage")

        monkeypatch.setattr(app.state.resources.storage, "put_bytes", buggy_put)
        response = await client.post(
            URL, json={"voice_uuid": voice_uuid, "text": "still mine"}, headers=customer.headers
        )
        assert response.status_code == 200
        assert response.json()["audio_url"] is None
        charged = Decimal(response.json()["billing"]["charged"])
        assert charged > 0
        assert await balance(session, customer.user.id) == Decimal("10") - charged


class TestHoldSweep:
    async def test_expired_hold_is_released(self, app: FastAPI, session: AsyncSession, customer: Customer):
        from voicegate.billing import ledger
        from voicegate.billing.tasks import sweep_holds

        await ledger.place_hold(session, customer.user.id, "crashed-request", Decimal("1.5"), timedelta(seconds=-1))
        await session.commit()
        assert await balance(session, customer.user.id) == Decimal("8.5")
        assert await sweep_holds(app.state.resources.sessionmaker) == 1
        assert await balance(session, customer.user.id) == Decimal("10")
        assert await sweep_holds(app.state.resources.sessionmaker) == 0

    async def test_capture_after_sweep_still_charges(self, session: AsyncSession, customer: Customer):
        from voicegate.billing import ledger

        hold = await ledger.place_hold(session, customer.user.id, "slow-request", Decimal("1"), timedelta(seconds=-1))
        await session.commit()
        await ledger.sweep_expired_holds(session, now=utc_now())
        await session.commit()
        settlement = await ledger.capture(session, hold, Decimal("0.4"))
        await session.commit()
        assert settlement.shortfall == 0
        assert await balance(session, customer.user.id) == Decimal("9.6")
