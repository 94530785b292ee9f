"""`POST /api/v1/audio/stt/transcriptions`: the native STT job on an uploaded file, waited for and billed like it."""

from __future__ import annotations

import asyncio
import json
import re
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import Customer, create_customer
from tests.hub.conftest import balance, ledger_kinds, upstream_calls, usage_rows
from tests.resemble.jobs.helpers import make_wav
from voicegate.config import Settings
from voicegate.db.models import ProviderResembleAsset, ProviderResembleJob

URL = "/api/v1/audio/stt/transcriptions"
WAV = make_wav(3.0)
WAIT_S = 1.0


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"hub_stt_wait_s": WAIT_S})


def files(data: bytes = WAV) -> dict:
    return {"file": ("speech.wav", data, "audio/*")}


async def native_transcript(client: httpx.AsyncClient, customer: Customer) -> dict:
    upload = await client.post(
        "/api/v1/resemble/uploads", files=files(), data={"purpose": "stt_input"}, headers=customer.headers
    )
    assert upload.status_code == 201, upload.text
    job = await client.post("/api/v1/resemble/stt", json={"audio_url": upload.json()["url"]}, headers=customer.headers)
    assert job.status_code == 201, job.text
    for _ in range(40):
        body = (await client.get(f"/api/v1/resemble/stt/{job.json()['job_id']}", headers=customer.headers)).json()
        if body["status"] == "completed":
            return dict(body)
        await asyncio.sleep(0.1)
    raise AssertionError(body)


async def test_billed_exactly_like_the_native_job(client: httpx.AsyncClient, session: AsyncSession, customer: Customer):
    native = await native_transcript(client, customer)
    response = await client.post(URL, files=files(), data={"model": "resemble/default"}, headers=customer.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == "resemble/speech-to-text"
    assert body["provider"] == "resemble"
    assert body["text"] == native["text"]
    assert body["text"]
    assert body["duration"] == pytest.approx(3.0)
    assert body["billing"] == native["billing"]
    assert body["billing"]["unit"] == "audio_seconds"
    assert body["transcript_url"]
    spent = Decimal(body["billing"]["charged"]) * 2
    assert await balance(session, customer.user.id) == Decimal("10") - spent
    assert len(await usage_rows(session, customer.user.id)) == 2
    hub_job = await session.get(ProviderResembleJob, body["job_id"])
    native_job = await session.get(ProviderResembleJob, native["job_id"])
    assert hub_job is not None
    assert native_job is not None
    assert hub_job.capability == native_job.capability == "stt"
    assert await ledger_kinds(session, hub_job.request_id) == await ledger_kinds(session, native_job.request_id)
    native_get = await client.get(f"/api/v1/resemble/stt/{body['job_id']}", headers=customer.headers)
    assert native_get.json()["status"] == "completed"


async def test_formats(client: httpx.AsyncClient, customer: Customer):
    verbose = await client.post(
        URL,
        files=files(),
        data={"response_format": "verbose_json", "language": "en", "timestamp_granularities": '["word", "segment"]'},
        headers=customer.headers,
    )
    assert verbose.status_code == 200, verbose.text
    body = verbose.json()
    assert body["language"] == "en"
    assert body["words"]
    assert body["segments"]
    assert " ".join(w["word"] for w in body["words"]) == body["text"]
    assert body["segments"][0]["start"] == body["words"][0]["start"]
    assert body["segments"][-1]["end"] == body["words"][-1]["end"] <= 3.0

    srt = await client.post(URL, files=files(), data={"response_format": "srt"}, headers=customer.headers)
    assert srt.status_code == 200, srt.text
    document = srt.json()["subtitles"]
    assert document.startswith("1\n00:00:00,000 --> 00:00:")
    assert re.findall(r"^\d+$", document, flags=re.M)[-1] == str(len(document.strip().split("\n\n")))


async def test_other_provider_is_400_listing_models(
    client: httpx.AsyncClient, simulator: httpx.AsyncClient, customer: Customer
):
    response = await client.post(URL, files=files(), data={"model": "openai/whisper-1"}, headers=customer.headers)
    assert response.status_code == 400
    assert "resemble/speech-to-text" in response.json()["detail"]
    assert await upstream_calls(simulator, "/speech-to-text") == []


async def test_idempotency_key_answers_the_same_job(
    client: httpx.AsyncClient, session: AsyncSession, customer: Customer
):
    headers = {**customer.headers, "Idempotency-Key": "hub-stt-1"}
    first = await client.post(URL, files=files(), headers=headers)
    again = await client.post(URL, files=files(), headers=headers)
    assert first.status_code == again.status_code == 200, again.text
    assert first.json()["job_id"] == again.json()["job_id"]
    assert len(await usage_rows(session, customer.user.id)) == 1
    other = await client.post(URL, files=files(make_wav(1.0)), headers=headers)
    assert other.status_code == 422


async def test_slow_job_is_504_naming_the_job(
    client: httpx.AsyncClient, simulator: httpx.AsyncClient, session: AsyncSession, customer: Customer
):
    await simulator.post("/_sim/faults", json={"path": "speech-to-text", "mode": "job_hang"})
    response = await client.post(URL, files=files(), headers=customer.headers)
    assert response.status_code == 504
    body = response.json()
    assert body["job_id"] in body["detail"]
    assert f"/api/v1/resemble/stt/{body['job_id']}" in body["detail"]
    job = await client.get(body["poll_url"], headers=customer.headers)
    assert job.status_code == 200
    assert job.json()["status"] in ("pending", "processing")
    assert await usage_rows(session, customer.user.id) == []


async def test_failed_job_is_502_and_charges_nothing(
    client: httpx.AsyncClient, simulator: httpx.AsyncClient, session: AsyncSession, customer: Customer
):
    await simulator.post("/_sim/faults", json={"path": "speech-to-text", "mode": "job_fail", "message": "bad audio"})
    response = await client.post(URL, files=files(), headers=customer.headers)
    assert response.status_code == 502
    assert "bad audio" in response.json()["detail"]
    assert await balance(session, customer.user.id) == Decimal("10")


async def test_bad_input_changes_nothing(
    client: httpx.AsyncClient, simulator: httpx.AsyncClient, session: AsyncSession, customer: Customer
):
    cases = [
        (files(b""), {}, 422),
        (files(b"not audio at all, just text" * 4), {}, 415),
        (files(), {"response_format": "docx"}, 422),
        (files(), {"temperature": "2"}, 422),
        (files(), {"timestamp_granularities": '["sentence"]'}, 422),
        (files(), {"byok_api_key": "rsm-mine"}, 400),
        ({}, {"model": "resemble/default"}, 422),
    ]
    for upload, data, status in cases:
        response = await client.post(URL, files=upload or None, data=data, headers=customer.headers)
        assert response.status_code == status, (data, response.text)
        assert response.json()["detail"]
        assert "rsm-mine" not in json.dumps(response.json())
    assert await upstream_calls(simulator, "/speech-to-text") == []
    assert await balance(session, customer.user.id) == Decimal("10")


async def test_refused_for_credit_keeps_no_file(
    client: httpx.AsyncClient, simulator: httpx.AsyncClient, session: AsyncSession
):
    poor = await create_customer(session, credits="0.00")
    response = await client.post(URL, files=files(), headers=poor.headers)
    assert response.status_code == 402
    kept = await session.scalars(select(ProviderResembleAsset).where(ProviderResembleAsset.user_id == poor.user.id))
    assert list(kept) == []
    assert await upstream_calls(simulator, "/speech-to-text") == []
