from __future__ import annotations

import io
import wave
from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.downloads import download
from tests.factories import Customer, create_customer
from tests.resemble.catalogue.conftest import remove_upstream_voice
from tests.resemble.projects.conftest import PROJECTS, VOICE_UUID, create_clip, create_project, upstream_requests
from voicegate.db.models import (
    CreditHold,
    ProviderResembleAsset,
    ProviderResembleRequest,
    ProviderResembleResource,
    ProviderResembleUsage,
    User,
)


async def balance(session: AsyncSession, user_id: str) -> Decimal:
    value = await session.scalar(select(User.balance_usd).where(User.id == user_id))
    assert value is not None
    return value


class TestCreateIsBilledLikeTts:
    async def test_charge_usage_audio_and_ownership_agree(
        self, client: httpx.AsyncClient, session: AsyncSession, customer: Customer, simulator: httpx.AsyncClient
    ):
        project = await create_project(client, customer)
        result = await create_clip(client, customer, project, title="One", sample_rate=16000, precision="PCM_16")
        item = result["item"]
        assert (item["title"], item["voice_uuid"]) == ("One", VOICE_UUID)
        assert "raw_audio" not in item
        assert result["resemble_url"] == item["audio_src"]

        audio = await download(client, result["audio_url"])
        with wave.open(io.BytesIO(audio)) as wav:
            assert wav.getframerate() == 16000
            assert wav.getnframes() / 16000 == pytest.approx(result["audio_duration"], abs=0.05)
        billing = result["billing"]
        assert (billing["unit"], billing["currency"]) == ("audio_seconds", "USD")
        assert float(billing["quantity"]) == pytest.approx(result["audio_duration"])  # a decimal string
        provider_cost = (Decimal(str(billing["quantity"])) * Decimal("0.0005")).quantize(Decimal("0.000001"))
        assert Decimal(billing["charged"]) == (provider_cost * Decimal("1.2")).quantize(Decimal("0.000001"))
        assert await balance(session, customer.user.id) == Decimal("10") - Decimal(billing["charged"])
        assert result["expires_at"].endswith("Z")

        usage = await session.scalar(
            select(ProviderResembleUsage).where(ProviderResembleUsage.request_id == result["request_id"])
        )
        assert usage is not None
        assert usage.capability == "tts"
        asset = await session.scalar(
            select(ProviderResembleAsset).where(ProviderResembleAsset.request_id == result["request_id"])
        )
        assert asset is not None
        assert asset.storage_key.startswith(f"tts-output/{customer.user.id}/")
        clip_row = await session.scalar(
            select(ProviderResembleResource).where(ProviderResembleResource.upstream_id == item["uuid"])
        )
        project_row = await session.scalar(
            select(ProviderResembleResource).where(ProviderResembleResource.upstream_id == project)
        )
        assert clip_row is not None
        assert project_row is not None
        assert (clip_row.kind, clip_row.user_id, clip_row.parent_id) == ("clip", customer.user.id, project_row.id)
        sent = [r for r in await upstream_requests(simulator, "/clips") if r["method"] == "POST"][-1]
        assert sent["json"]["raw"] is True
        assert "callback_uri" not in sent["json"]

    async def test_idempotency_key_replays_without_a_second_charge(
        self, client: httpx.AsyncClient, session: AsyncSession, customer: Customer, simulator: httpx.AsyncClient
    ):
        project = await create_project(client, customer)
        url = f"{PROJECTS}/{project}/clips"
        body = {"fields": {"body": "Say it once.", "voice_uuid": VOICE_UUID}}
        headers = {**customer.headers, "Idempotency-Key": "clip-1"}
        first = await client.post(url, json=body, headers=headers)
        second = await client.post(url, json=body, headers=headers)
        assert first.status_code == second.status_code == 200
        assert "Idempotent-Replayed" not in first.headers
        assert second.headers["Idempotent-Replayed"] == "true"
        assert second.json()["item"]["uuid"] == first.json()["item"]["uuid"]
        assert len([r for r in await upstream_requests(simulator, "/clips") if r["method"] == "POST"]) == 1
        charges = await session.scalar(
            select(func.count())
            .select_from(ProviderResembleUsage)
            .where(ProviderResembleUsage.user_id == customer.user.id)
        )
        assert charges == 1
        changed = await client.post(
            url, json={"fields": {"body": "Something else.", "voice_uuid": VOICE_UUID}}, headers=headers
        )
        assert changed.status_code == 422

    async def test_insufficient_credit_is_402_and_nothing_is_created(
        self, client: httpx.AsyncClient, session: AsyncSession, simulator: httpx.AsyncClient
    ):
        poor = await create_customer(session, credits="0.00")
        project = await create_project(client, poor)
        response = await client.post(
            f"{PROJECTS}/{project}/clips",
            json={"fields": {"body": "Hello", "voice_uuid": VOICE_UUID}},
            headers=poor.headers,
        )
        assert response.status_code == 402
        assert [r for r in await upstream_requests(simulator, "/clips")] == []

    @pytest.mark.parametrize(
        "fields",
        [
            {"voice_uuid": VOICE_UUID},
            {"body": "   ", "voice_uuid": VOICE_UUID},
            {"body": "x" * 3001, "voice_uuid": VOICE_UUID},
            {"body": "hi", "voice_uuid": "bad id!"},
            {"body": "hi", "voice_uuid": VOICE_UUID, "sample_rate": 48000},
            {"body": "hi", "voice_uuid": VOICE_UUID, "output_format": "ogg"},
            {"body": "hi", "voice_uuid": VOICE_UUID, "callback_uri": "https://example.com/hook"},
        ],
    )
    async def test_bad_fields_are_422_before_any_upstream_call(
        self, client: httpx.AsyncClient, customer: Customer, simulator: httpx.AsyncClient, fields: dict
    ):
        project = await create_project(client, customer)
        response = await client.post(f"{PROJECTS}/{project}/clips", json={"fields": fields}, headers=customer.headers)
        assert response.status_code == 422
        assert [r for r in await upstream_requests(simulator, "/clips")] == []

    async def test_upstream_rejection_releases_the_hold(
        self, app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, customer: Customer
    ):
        project = await create_project(client, customer)
        await client.get("/api/v1/resemble/tts/voices", headers=customer.headers)  # the catalogue snapshot
        remove_upstream_voice(app, VOICE_UUID)  # withdrawn at Resemble since: the snapshot still lists it
        response = await client.post(
            f"{PROJECTS}/{project}/clips",
            json={"fields": {"body": "Hi", "voice_uuid": VOICE_UUID}},
            headers=customer.headers,
        )
        assert response.status_code == 422
        assert "voice_uuid" in response.json()["detail"]
        assert await balance(session, customer.user.id) == Decimal("10")
        clips = await session.scalar(
            select(func.count()).select_from(ProviderResembleResource).where(ProviderResembleResource.kind == "clip")
        )
        assert clips == 0

    async def test_a_failed_ownership_write_undoes_the_clip_and_the_hold(
        self,
        client: httpx.AsyncClient,
        session: AsyncSession,
        customer: Customer,
        simulator: httpx.AsyncClient,
        app,
        request: pytest.FixtureRequest,
    ):
        project = await create_project(client, customer)
        request.getfixturevalue("ownership_writes_fail")
        response = await client.post(
            f"{PROJECTS}/{project}/clips",
            json={"fields": {"body": "Hi there", "voice_uuid": VOICE_UUID}},
            headers=customer.headers,
        )
        assert response.status_code == 503
        account = await app.state.resources.upstream.request_json(
            "GET", f"projects/{project}/clips", params={"page": 1}, idempotent=True, operation="test"
        )
        assert account["items"] == []
        deletes = [r for r in await upstream_requests(simulator, "/clips/") if r["method"] == "DELETE"]
        assert len(deletes) == 1
        assert await balance(session, customer.user.id) == Decimal("10")
        holds = (await session.scalars(select(CreditHold).where(CreditHold.user_id == customer.user.id))).all()
        assert [hold.status for hold in holds] == ["released"]
        clip_request = await session.scalar(
            select(ProviderResembleRequest).where(ProviderResembleRequest.operation == "create_clip")
        )
        assert clip_request is not None
        assert clip_request.status == "failed"


class TestReadListDelete:
    async def test_list_get_delete(self, client: httpx.AsyncClient, session: AsyncSession, customer: Customer):
        project = await create_project(client, customer)
        other_project = await create_project(client, customer, "Other")
        clips = [(await create_clip(client, customer, project, title=f"c{i}"))["item"]["uuid"] for i in range(2)]
        await create_clip(client, customer, other_project)

        listed = await client.get(f"{PROJECTS}/{project}/clips?page=1&page_size=10", headers=customer.headers)
        assert listed.status_code == 200
        assert [item["uuid"] for item in listed.json()["items"]] == clips
        assert listed.json()["total_count"] == 2

        got = await client.get(f"{PROJECTS}/{project}/clips/{clips[0]}", headers=customer.headers)
        assert got.status_code == 200
        assert got.json()["item"]["title"] == "c0"
        # A clip is reachable only through its own project.
        assert (
            await client.get(f"{PROJECTS}/{other_project}/clips/{clips[0]}", headers=customer.headers)
        ).status_code == 404

        assert (
            await client.delete(f"{PROJECTS}/{project}/clips/{clips[0]}", headers=customer.headers)
        ).status_code == 200
        assert (await client.get(f"{PROJECTS}/{project}/clips/{clips[0]}", headers=customer.headers)).status_code == 404
        assert [
            i["uuid"]
            for i in (await client.get(f"{PROJECTS}/{project}/clips", headers=customer.headers)).json()["items"]
        ] == clips[1:]

    async def test_deleting_a_project_retires_its_clips_rows(
        self, client: httpx.AsyncClient, session: AsyncSession, customer: Customer
    ):
        project = await create_project(client, customer)
        clip = (await create_clip(client, customer, project))["item"]["uuid"]
        assert (await client.delete(f"{PROJECTS}/{project}", headers=customer.headers)).status_code == 200
        row = await session.scalar(select(ProviderResembleResource).where(ProviderResembleResource.upstream_id == clip))
        assert row is not None
        assert row.deleted_at is not None
        assert (await client.get(f"{PROJECTS}/{project}/clips/{clip}", headers=customer.headers)).status_code == 404

    async def test_every_call_is_a_request_row(
        self, client: httpx.AsyncClient, session: AsyncSession, customer: Customer
    ):
        project = await create_project(client, customer)
        clip = (await create_clip(client, customer, project))["item"]["uuid"]
        await client.get(f"{PROJECTS}/{project}/clips/{clip}", headers=customer.headers)
        await client.delete(f"{PROJECTS}/{project}/clips/{clip}", headers=customer.headers)
        rows = (
            await session.scalars(
                select(ProviderResembleRequest)
                .where(ProviderResembleRequest.user_id == customer.user.id)
                .order_by(ProviderResembleRequest.created_at)
            )
        ).all()
        assert [(r.capability, r.operation) for r in rows] == [
            ("projects", "create_project"),
            ("tts", "create_clip"),
            ("projects", "get_clip"),
            ("projects", "delete_clip"),
        ]
