"""Enrollment: billed one enrollment, recorded with its owner and Resemble's item in the charge's transaction."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import unquote, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import Customer, create_customer
from tests.resemble.identity.conftest import (
    ENROLL_CHARGE,
    IDENTITY,
    PNG,
    account_identities,
    balance,
    enroll,
    uploaded,
    upstream_calls,
)
from tests.resemble.jobs.helpers import upload
from voicegate.db.models import CreditHold, ProviderResembleRequest, ProviderResembleResource, ProviderResembleUsage


async def identity_rows(session: AsyncSession) -> list[ProviderResembleResource]:
    query = select(ProviderResembleResource).where(ProviderResembleResource.kind == "identity")
    return list((await session.scalars(query)).all())


class TestEnroll:
    async def test_own_upload_is_enrolled_billed_and_recorded_with_its_item(
        self, client: httpx.AsyncClient, session: AsyncSession, alice: Customer, simulator: httpx.AsyncClient
    ):
        url = await uploaded(client, alice)
        response = await client.post(f"{IDENTITY}/enroll", json={"name": "Ann", "url": url}, headers=alice.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        item = body["item"]
        assert (body["success"], item["name"], item["identity_type"]) == (True, "Ann", "person")
        billing = body["billing"]
        assert (billing["unit"], billing["quantity"], billing["charged"]) == ("enrollments", "1.000000", "0.012000")
        assert await balance(session, alice) == Decimal("5") - ENROLL_CHARGE

        [row] = await identity_rows(session)
        assert (row.upstream_id, row.user_id, row.snapshot) == (item["uuid"], alice.user.id, item)
        usage = await session.scalar(select(ProviderResembleUsage).where(ProviderResembleUsage.request_id.is_not(None)))
        assert usage is not None
        assert (usage.capability, usage.request_id) == ("identity", body["request_id"])

        [sent] = await upstream_calls(simulator)
        assert (sent["method"], sent["path"], sent["json"]["name"]) == ("POST", "/api/v2/identity", "Ann")
        # A fresh link to the same stored object, not the caller's own (possibly expiring) link.
        assert unquote(urlsplit(sent["json"]["url"]).path).endswith(unquote(urlsplit(url).path).rsplit("/", 1)[-1])

    async def test_non_audio_upload_is_415_and_costs_nothing(
        self, client: httpx.AsyncClient, session: AsyncSession, alice: Customer, simulator: httpx.AsyncClient
    ):
        image = await upload(client, alice, PNG, purpose=None, filename="face.png", content_type="image/png")
        response = await client.post(
            f"{IDENTITY}/enroll", json={"name": "Ann", "url": image["url"]}, headers=alice.headers
        )
        assert response.status_code == 415
        assert await upstream_calls(simulator) == []
        assert await balance(session, alice) == Decimal("5")

    @pytest.mark.parametrize(
        "url", ["http://127.0.0.1/voice.wav", "http://10.0.0.7/voice.wav", "file:///etc/passwd", "not a url"]
    )
    async def test_unsafe_external_url_is_422_before_anything_is_sent(
        self, client: httpx.AsyncClient, alice: Customer, simulator: httpx.AsyncClient, url: str
    ):
        response = await client.post(f"{IDENTITY}/enroll", json={"name": "Ann", "url": url}, headers=alice.headers)
        assert response.status_code == 422
        assert "url must be a public http(s) URL" in response.json()["detail"]
        assert await upstream_calls(simulator) == []

    @pytest.mark.parametrize(
        "body",
        [
            {"url": "https://example.com/v.wav"},
            {"name": "   ", "url": "https://example.com/v.wav"},
            {"name": "x" * 121, "url": "https://example.com/v.wav"},
            {"name": "Ann"},
            {"name": "Ann", "url": "https://example.com/v.wav", "visibility": "global"},
        ],
    )
    async def test_bad_bodies_are_422_before_any_upstream_call(
        self, client: httpx.AsyncClient, alice: Customer, simulator: httpx.AsyncClient, body: dict
    ):
        response = await client.post(f"{IDENTITY}/enroll", json=body, headers=alice.headers)
        assert response.status_code == 422
        assert await upstream_calls(simulator) == []

    async def test_insufficient_credit_is_402_and_nothing_is_sent(
        self, client: httpx.AsyncClient, session: AsyncSession, simulator: httpx.AsyncClient
    ):
        poor = await create_customer(session, credits="0.01")  # less than the $0.012 an enrollment costs
        url = await uploaded(client, poor)
        response = await client.post(f"{IDENTITY}/enroll", json={"name": "Ann", "url": url}, headers=poor.headers)
        assert response.status_code == 402
        assert await upstream_calls(simulator) == []

    async def test_idempotency_key_replays_without_a_second_enrollment(
        self, client: httpx.AsyncClient, session: AsyncSession, alice: Customer, simulator: httpx.AsyncClient
    ):
        body = {"name": "Ann", "url": await uploaded(client, alice)}
        headers = {**alice.headers, "Idempotency-Key": "enroll-1"}
        first = await client.post(f"{IDENTITY}/enroll", json=body, headers=headers)
        second = await client.post(f"{IDENTITY}/enroll", json=body, headers=headers)
        assert first.status_code == second.status_code == 200
        assert "Idempotent-Replayed" not in first.headers
        assert second.headers["Idempotent-Replayed"] == "true"
        assert second.json() == first.json()
        assert len(await upstream_calls(simulator)) == 1
        assert len(await identity_rows(session)) == 1
        assert await balance(session, alice) == Decimal("5") - ENROLL_CHARGE
        changed = await client.post(f"{IDENTITY}/enroll", json={**body, "name": "Bea"}, headers=headers)
        assert changed.status_code == 422


class TestUpstreamFailures:
    async def test_upstream_5xx_is_502_and_charges_nothing(
        self, client: httpx.AsyncClient, session: AsyncSession, alice: Customer, simulator: httpx.AsyncClient
    ):
        url = await uploaded(client, alice)
        await simulator.post("/_sim/faults", json={"path": "^/api/v2/identity$", "status": 500, "count": 1})
        response = await client.post(f"{IDENTITY}/enroll", json={"name": "Ann", "url": url}, headers=alice.headers)
        assert response.status_code == 502
        assert await balance(session, alice) == Decimal("5")
        assert await identity_rows(session) == []
        hold = await session.scalar(select(CreditHold).where(CreditHold.user_id == alice.user.id))
        assert hold is not None
        assert hold.status == "released"

    async def test_audio_resemble_cannot_fetch_is_its_422_and_charges_nothing(
        self, client: httpx.AsyncClient, session: AsyncSession, alice: Customer, app: FastAPI
    ):
        url = await uploaded(client, alice)
        app.state.resources.simulator.state.gateway_outbound._transport = httpx.MockTransport(
            lambda _: httpx.Response(404)
        )
        response = await client.post(f"{IDENTITY}/enroll", json={"name": "Ann", "url": url}, headers=alice.headers)
        assert response.status_code == 422
        assert "Could not fetch media" in response.json()["detail"]
        assert await balance(session, alice) == Decimal("5")
        assert await identity_rows(session) == []

    async def test_a_failed_ownership_write_deletes_the_identity_and_gives_the_credit_back(
        self,
        client: httpx.AsyncClient,
        session: AsyncSession,
        alice: Customer,
        simulator: httpx.AsyncClient,
        app: FastAPI,
        request: pytest.FixtureRequest,
    ):
        url = await uploaded(client, alice)
        request.getfixturevalue("ownership_writes_fail")
        response = await client.post(f"{IDENTITY}/enroll", json={"name": "Ann", "url": url}, headers=alice.headers)
        assert response.status_code == 503
        assert await account_identities(app.state.resources.upstream) == []
        assert [r["method"] for r in await upstream_calls(simulator, "/api/v2/identity/")] == ["DELETE"]
        assert await balance(session, alice) == Decimal("5")
        hold = await session.scalar(select(CreditHold).where(CreditHold.user_id == alice.user.id))
        assert hold is not None
        assert hold.status == "released"
        enrolled = await session.scalar(
            select(ProviderResembleRequest).where(ProviderResembleRequest.operation == "enroll_identity")
        )
        assert enrolled is not None
        assert enrolled.status == "failed"
        charges = await session.scalar(select(func.count()).select_from(ProviderResembleUsage))
        assert charges == 0


async def test_enrolled_identity_is_listed_by_resemble(client: httpx.AsyncClient, alice: Customer, app: FastAPI):
    uuid = (await enroll(client, alice))["item"]["uuid"]
    assert await account_identities(app.state.resources.upstream) == [uuid]
