"""Every asynchronous capability, submitted with a URL the gateway issued, followed to its end through HTTP."""

from __future__ import annotations

import io
import wave
from datetime import datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.downloads import download
from tests.factories import Customer, create_customer
from tests.resemble.jobs.helpers import WAV_2S, submit, upload, wait_terminal
from voicegate.db.models import ProviderResembleAsset, ProviderResembleUsage, User

ALL = ["stt", "enhance", "edit", "detect", "intelligence", "tracing", "watermark/apply", "watermark/detect"]
WITH_AUDIO_OUTPUT = {"enhance": 7, "edit": 7, "watermark/apply": 7}
EXPECTED_UNITS = {
    "stt": ("audio_seconds", "0.001"),
    "enhance": ("audio_seconds", "0.0005"),
    "edit": ("audio_seconds", "0.0005"),
    "detect": ("audio_seconds", "0.001"),
    "intelligence": ("requests", "0.01"),
    "tracing": ("audio_seconds", "0.001"),
    "watermark/apply": ("audio_seconds", "0.0005"),
    "watermark/detect": ("audio_seconds", "0.0002"),
}


async def balance(session: AsyncSession, user_id: str) -> Decimal:
    value = await session.scalar(select(User.balance_usd).where(User.id == user_id))
    assert value is not None
    return value


def wav_seconds(data: bytes) -> float:
    with wave.open(io.BytesIO(data)) as wav:
        return wav.getnframes() / wav.getframerate()


@pytest.mark.parametrize("path", ALL)
async def test_submit_poll_complete_bill_and_mirror(
    client: httpx.AsyncClient, session: AsyncSession, customer: Customer, path: str
):
    source = await upload(client, customer)
    created = await submit(client, customer, path, source["url"])
    assert created.status_code == 201, created.text
    job = created.json()
    assert job["status"] in ("pending", "processing")
    assert "uuid" not in job

    done = await wait_terminal(client, customer, path, job["job_id"])
    assert done["status"] == "completed", done
    unit, price = EXPECTED_UNITS[path]
    billing = done["billing"]
    assert billing["unit"] == unit
    quantity = Decimal(str(billing["quantity"]))
    if unit == "audio_seconds":
        assert quantity == pytest.approx(Decimal(2), abs=Decimal("0.05"))
    cost = (quantity * Decimal(price)).quantize(Decimal("0.000001"))
    assert Decimal(billing["provider_cost"]) == cost
    assert Decimal(billing["charged"]) == (cost * Decimal("1.2")).quantize(Decimal("0.000001"))
    assert await balance(session, customer.user.id) == Decimal(10) - Decimal(billing["charged"])

    if path in WITH_AUDIO_OUTPUT:
        audio = await download(client, done["audio_url"])
        assert wav_seconds(audio) == pytest.approx(2.0, abs=0.05)
        assert done["resemble_url"]
        expires = datetime.fromisoformat(done["expires_at"].replace("Z", "+00:00"))
        created_at = datetime.fromisoformat(done["created_at"].replace("Z", "+00:00"))
        assert expires - created_at == pytest.approx(timedelta(days=7), abs=timedelta(seconds=5))
    if path == "stt":
        transcript = await download(client, done["transcript_url"])
        assert b"text" in transcript
        assert done["expires_at"]

    again = await client.get(f"/api/v1/resemble/{path}/{job['job_id']}", headers=customer.headers)
    assert again.json()["billing"] == billing
    usage_rows = await session.scalar(
        select(func.count()).select_from(ProviderResembleUsage).where(ProviderResembleUsage.user_id == customer.user.id)
    )
    assert usage_rows == 1


@pytest.mark.parametrize("path", ["stt", "enhance", "watermark/apply"])
async def test_failed_job_is_free(
    client: httpx.AsyncClient, simulator: httpx.AsyncClient, session: AsyncSession, customer: Customer, path: str
):
    source = await upload(client, customer)
    await simulator.post("/_sim/faults", json={"path": ".", "mode": "job_fail", "count": 1})
    job = (await submit(client, customer, path, source["url"])).json()
    done = await wait_terminal(client, customer, path, job["job_id"])
    assert done["status"] == "failed"
    assert "billing" not in done
    assert await balance(session, customer.user.id) == Decimal(10)


async def test_another_users_job_is_404(client: httpx.AsyncClient, customer: Customer, stranger: Customer):
    source = await upload(client, customer)
    job = (await submit(client, customer, "stt", source["url"])).json()
    response = await client.get(f"/api/v1/resemble/stt/{job['job_id']}", headers=stranger.headers)
    assert response.status_code == 404
    other_capability = await client.get(f"/api/v1/resemble/enhance/{job['job_id']}", headers=customer.headers)
    assert other_capability.status_code == 404


async def test_another_users_upload_is_404_and_nothing_is_sent(
    client: httpx.AsyncClient, simulator: httpx.AsyncClient, customer: Customer, stranger: Customer
):
    source = await upload(client, customer)
    await simulator.delete("/_sim/requests")
    response = await submit(client, stranger, "enhance", source["url"])
    assert response.status_code == 404
    assert [r for r in (await simulator.get("/_sim/requests")).json() if "enhance" in r["path"]] == []


async def test_listing_shows_only_the_callers_jobs(client: httpx.AsyncClient, customer: Customer, stranger: Customer):
    mine = await upload(client, customer)
    theirs = await upload(client, stranger)
    for _ in range(3):
        await submit(client, customer, "stt", mine["url"])
    await submit(client, stranger, "stt", theirs["url"])
    page = (await client.get("/api/v1/resemble/stt?page=1&page_size=2", headers=customer.headers)).json()
    assert (page["total"], len(page["items"]), page["num_pages"]) == (3, 2, 2)
    second = (await client.get("/api/v1/resemble/stt?page=2&page_size=2", headers=customer.headers)).json()
    assert len(second["items"]) == 1
    bad = await client.get("/api/v1/resemble/stt?page_size=1000", headers=customer.headers)
    assert bad.status_code == 422


async def test_insufficient_credits_sends_nothing(
    client: httpx.AsyncClient, simulator: httpx.AsyncClient, session: AsyncSession
):
    poor = await create_customer(session, credits="0.000001")
    source = await upload(client, poor)
    await simulator.delete("/_sim/requests")
    response = await submit(client, poor, "stt", source["url"])
    assert response.status_code == 402
    assert [r for r in (await simulator.get("/_sim/requests")).json() if "speech" in r["path"]] == []


async def test_upstream_submit_failure_is_502_and_free(
    client: httpx.AsyncClient, simulator: httpx.AsyncClient, session: AsyncSession, customer: Customer
):
    source = await upload(client, customer)
    await simulator.post("/_sim/faults", json={"path": "speech-to-text", "status": 500, "count": 1})
    response = await submit(client, customer, "stt", source["url"])
    assert response.status_code == 502
    assert await balance(session, customer.user.id) == Decimal(10)


async def test_bad_input_is_4xx(client: httpx.AsyncClient, customer: Customer):
    missing = await client.post("/api/v1/resemble/stt", json={}, headers=customer.headers)
    assert missing.status_code == 422
    not_http = await client.post("/api/v1/resemble/stt", json={"audio_url": "ftp://x/y.wav"}, headers=customer.headers)
    assert not_http.status_code == 422
    two_urls = await client.post(
        "/api/v1/resemble/detect",
        json={"audio_url": "https://a.example/x.wav", "image_url": "https://a.example/y.png"},
        headers=customer.headers,
    )
    assert two_urls.status_code == 422


async def test_private_addresses_are_refused(client: httpx.AsyncClient, customer: Customer):
    response = await client.post(
        "/api/v1/resemble/stt", json={"audio_url": "http://127.0.0.1:9/secret.wav"}, headers=customer.headers
    )
    assert response.status_code == 422
    assert "private" in response.json()["detail"] or "loopback" in response.json()["detail"]
    source = await upload(client, customer)
    callback = await submit(client, customer, "stt", source["url"], callback_uri="http://169.254.169.254/latest")
    assert callback.status_code == 422


async def test_mirrored_asset_row_per_output(client: httpx.AsyncClient, session: AsyncSession, customer: Customer):
    source = await upload(client, customer, WAV_2S)
    job = (await submit(client, customer, "enhance", source["url"])).json()
    await wait_terminal(client, customer, "enhance", job["job_id"])
    for _ in range(3):
        await client.get(f"/api/v1/resemble/enhance/{job['job_id']}", headers=customer.headers)
    assets = await session.scalar(
        select(func.count()).select_from(ProviderResembleAsset).where(ProviderResembleAsset.job_id.is_not(None))
    )
    assert assets == 1


async def test_idempotent_submit_holds_once_and_replays_the_job(
    client: httpx.AsyncClient, simulator: httpx.AsyncClient, session: AsyncSession, customer: Customer
):
    from voicegate.db.models import CreditHold, ProviderResembleJob

    source = await upload(client, customer)
    await simulator.delete("/_sim/requests")
    headers = {**customer.headers, "Idempotency-Key": "transcribe-once"}
    first = await client.post("/api/v1/resemble/stt", json={"audio_url": source["url"]}, headers=headers)
    second = await client.post("/api/v1/resemble/stt", json={"audio_url": source["url"]}, headers=headers)
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.headers["Idempotent-Replayed"] == "true"
    assert first.json()["job_id"] == second.json()["job_id"]
    submits = [r for r in (await simulator.get("/_sim/requests")).json() if r["path"].endswith("/speech-to-text")]
    assert len([r for r in submits if r["method"] == "POST"]) == 1
    for model in (ProviderResembleJob, CreditHold):
        rows = await session.scalar(select(func.count()).select_from(model).where(model.user_id == customer.user.id))
        assert rows == 1
