"""The user-facing webhook routes: the signing secret and the delivery log, through HTTP."""

from __future__ import annotations

import base64
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import Customer, create_customer
from voicegate.db.models import WebhookDelivery
from voicegate.kit.time import utc_now

from .conftest import enqueue_committed

SECRET_URL = "/api/v1/webhooks/secret"
DELIVERIES_URL = "/api/v1/webhooks/deliveries"


class TestAuth:
    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("GET", SECRET_URL),
            ("POST", f"{SECRET_URL}/rotate"),
            ("GET", DELIVERIES_URL),
            ("GET", f"{DELIVERIES_URL}/abc"),
        ],
    )
    async def test_a_user_is_required(self, client: httpx.AsyncClient, method: str, path: str) -> None:
        response = await client.request(method, path)
        assert response.status_code == 401

        response = await client.request(method, path, headers={"Authorization": "Bearer vg_nope"})
        assert response.status_code == 401


class TestSecret:
    async def test_created_on_first_call_then_stable(self, client: httpx.AsyncClient, customer: Customer) -> None:
        first = await client.get(SECRET_URL, headers=customer.headers)

        assert first.status_code == 200, first.text
        body = first.json()
        assert body["scheme"] == "standard-webhooks"
        assert body["headers"] == ["webhook-id", "webhook-timestamp", "webhook-signature"]
        assert body["secret"].startswith("whsec_")
        assert len(base64.b64decode(body["secret"].removeprefix("whsec_"))) == 32
        assert first.headers["cache-control"] == "no-store"
        again = await client.get(SECRET_URL, headers=customer.headers)
        assert again.json()["secret"] == body["secret"]

    async def test_rotation_replaces_it(self, client: httpx.AsyncClient, customer: Customer) -> None:
        old = (await client.get(SECRET_URL, headers=customer.headers)).json()["secret"]

        rotated = await client.post(f"{SECRET_URL}/rotate", headers=customer.headers)

        assert rotated.status_code == 200
        new = rotated.json()["secret"]
        assert new.startswith("whsec_")
        assert new != old
        assert (await client.get(SECRET_URL, headers=customer.headers)).json()["secret"] == new

    async def test_rotation_before_any_secret_works(self, client: httpx.AsyncClient, customer: Customer) -> None:
        rotated = await client.post(f"{SECRET_URL}/rotate", headers=customer.headers)

        assert rotated.status_code == 200
        assert (await client.get(SECRET_URL, headers=customer.headers)).json()["secret"] == rotated.json()["secret"]

    async def test_secrets_are_per_user(
        self, client: httpx.AsyncClient, customer: Customer, session: AsyncSession
    ) -> None:
        other = await create_customer(session)

        mine = (await client.get(SECRET_URL, headers=customer.headers)).json()["secret"]
        theirs = (await client.get(SECRET_URL, headers=other.headers)).json()["secret"]

        assert mine != theirs


async def _three_deliveries(sessionmaker: async_sessionmaker[AsyncSession], user_id: str) -> list[str]:
    """Three deliveries created a minute apart, oldest first."""
    ids = []
    base = utc_now() - timedelta(hours=1)
    for index in range(3):
        delivery = await enqueue_committed(sessionmaker, user_id, payload={"n": index}, event_type=f"job.e{index}")
        async with sessionmaker() as db:
            await db.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id == delivery.id)
                .values(created_at=base + timedelta(minutes=index))
            )
            await db.commit()
        ids.append(delivery.id)
    return ids


class TestDeliveries:
    async def test_lists_the_callers_deliveries_newest_first(
        self,
        client: httpx.AsyncClient,
        customer: Customer,
        session: AsyncSession,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        ids = await _three_deliveries(sessionmaker, customer.user.id)
        other = await create_customer(session)
        await enqueue_committed(sessionmaker, other.user.id)

        response = await client.get(DELIVERIES_URL, headers=customer.headers)

        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["page"], body["page_size"], body["total"]) == (1, 20, 3)
        assert [item["id"] for item in body["items"]] == ids[::-1]
        first = body["items"][0]
        assert set(first) == {
            "id",
            "job_id",
            "url",
            "event_type",
            "status",
            "attempts",
            "last_status_code",
            "last_error",
            "next_attempt_at",
            "delivered_at",
            "created_at",
        }
        assert (first["status"], first["attempts"], first["event_type"]) == ("pending", 0, "job.e2")
        assert first["url"] == "http://127.0.0.1:9/hook"
        assert first["delivered_at"] is None
        assert first["next_attempt_at"] is not None

    async def test_pages(
        self, client: httpx.AsyncClient, customer: Customer, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        ids = await _three_deliveries(sessionmaker, customer.user.id)

        page1 = (await client.get(DELIVERIES_URL, params={"page_size": 2}, headers=customer.headers)).json()
        page2 = (await client.get(DELIVERIES_URL, params={"page": 2, "page_size": 2}, headers=customer.headers)).json()
        page3 = (await client.get(DELIVERIES_URL, params={"page": 3, "page_size": 2}, headers=customer.headers)).json()

        assert [i["id"] for i in page1["items"]] == [ids[2], ids[1]]
        assert [i["id"] for i in page2["items"]] == [ids[0]]
        assert page3["items"] == []
        assert page1["total"] == page2["total"] == page3["total"] == 3

    @pytest.mark.parametrize("params", [{"page_size": 0}, {"page_size": 101}, {"page": 0}, {"page_size": "x"}])
    async def test_bad_paging_is_422(
        self, client: httpx.AsyncClient, customer: Customer, params: dict[str, object]
    ) -> None:
        response = await client.get(DELIVERIES_URL, params=params, headers=customer.headers)
        assert response.status_code == 422

    async def test_get_one(
        self, client: httpx.AsyncClient, customer: Customer, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        delivery = await enqueue_committed(sessionmaker, customer.user.id, event_type="job.failed")

        response = await client.get(f"{DELIVERIES_URL}/{delivery.id}", headers=customer.headers)

        assert response.status_code == 200
        assert response.json()["id"] == delivery.id
        assert response.json()["event_type"] == "job.failed"

    async def test_someone_elses_delivery_is_404(
        self,
        client: httpx.AsyncClient,
        customer: Customer,
        session: AsyncSession,
        sessionmaker: async_sessionmaker[AsyncSession],
    ) -> None:
        other = await create_customer(session)
        theirs = await enqueue_committed(sessionmaker, other.user.id)

        response = await client.get(f"{DELIVERIES_URL}/{theirs.id}", headers=customer.headers)

        assert response.status_code == 404
        assert response.json() == {"detail": "Webhook delivery not found"}
        assert (await client.get(f"{DELIVERIES_URL}/{theirs.id}", headers=other.headers)).status_code == 200

    async def test_unknown_delivery_is_404(self, client: httpx.AsyncClient, customer: Customer) -> None:
        response = await client.get(f"{DELIVERIES_URL}/{'0' * 32}", headers=customer.headers)
        assert response.status_code == 404
