"""Caps follow the caller's tier, end to end: a free user is refused sooner than a paid one, and an admin's tier
change raises the cap at once in the process that made it and within the principal cache's 5 s elsewhere."""

from __future__ import annotations

import time

import anyio
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import ADMIN_HEADERS, Customer, create_customer
from voicegate.app import create_app
from voicegate.auth.service import CREDENTIAL_CACHE_TTL_S
from voicegate.config import Settings
from voicegate.ratelimit import Tier

FREE_CAP, PAID_CAP = 2, 5
VOICES = "/api/v1/resemble/tts/voices"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    limits = {"free": {"voices": f"{FREE_CAP}/minute"}, "paid": {"voices": f"{PAID_CAP}/minute"}}
    return settings.model_copy(update={"resemble_rate_limits": limits})


async def allowed_before_429(client: httpx.AsyncClient, customer: Customer, tries: int = PAID_CAP + 2) -> int:
    """How many list-voices calls succeed before the first 429."""
    for done in range(tries):
        response = await client.get(VOICES, headers=customer.headers)
        if response.status_code == 429:
            assert response.headers["Retry-After"]
            assert "voices" in response.json()["detail"]
            return done
        assert response.status_code == 200, response.text
    return tries


async def set_tier(client: httpx.AsyncClient, user_id: str, tier: str) -> httpx.Response:
    return await client.patch(f"/api/v1/admin/users/{user_id}", json={"tier": tier}, headers=ADMIN_HEADERS)


class TestCapsByTier:
    async def test_a_free_user_is_refused_sooner_than_a_paid_one(
        self, client: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        free = await create_customer(session)
        paid = await create_customer(session, tier=Tier.PAID)
        assert await allowed_before_429(client, free) == FREE_CAP
        assert await allowed_before_429(client, paid) == PAID_CAP

    async def test_a_user_created_without_a_tier_is_free(self, client: httpx.AsyncClient) -> None:
        body = {"email": "tierless@example.com"}
        created = await client.post("/api/v1/admin/users", json=body, headers=ADMIN_HEADERS)
        assert created.status_code == 201, created.text
        assert created.json()["tier"] == "free"
        customer_headers = {"Authorization": f"Bearer {created.json()['api_key']}"}
        statuses = [(await client.get(VOICES, headers=customer_headers)).status_code for _ in range(FREE_CAP + 1)]
        assert statuses == [200] * FREE_CAP + [429]


class TestTierChange:
    async def test_patch_to_paid_raises_the_cap_at_once(self, client: httpx.AsyncClient, session: AsyncSession) -> None:
        customer = await create_customer(session)
        assert await allowed_before_429(client, customer) == FREE_CAP
        changed = await set_tier(client, customer.user.id, "paid")
        assert changed.status_code == 200, changed.text
        assert changed.json()["tier"] == "paid"
        assert await allowed_before_429(client, customer) == PAID_CAP
        assert (await client.get(f"/api/v1/admin/users/{customer.user.id}", headers=ADMIN_HEADERS)).json()[
            "tier"
        ] == "paid"

    async def test_patch_back_to_free_lowers_it_again(self, client: httpx.AsyncClient, session: AsyncSession) -> None:
        customer = await create_customer(session, tier=Tier.PAID)
        assert (await client.get(VOICES, headers=customer.headers)).status_code == 200  # principal now cached
        assert (await set_tier(client, customer.user.id, "free")).status_code == 200
        assert await allowed_before_429(client, customer) == FREE_CAP

    async def test_another_process_applies_it_once_its_cached_principal_expires(
        self, app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
    ) -> None:
        other = create_app(app.state.resources.settings)  # a second gateway process: its own principal cache
        async with (
            other.router.lifespan_context(other),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=other), base_url="http://other") as elsewhere,
        ):
            customer = await create_customer(session)
            assert await allowed_before_429(elsewhere, customer) == FREE_CAP  # caches the free principal
            assert (await set_tier(client, customer.user.id, "paid")).status_code == 200
            changed = time.monotonic()
            while (await elsewhere.get(VOICES, headers=customer.headers)).status_code == 429:
                assert time.monotonic() - changed < CREDENTIAL_CACHE_TTL_S + 1, "the other process kept the old tier"
                await anyio.sleep(0.2)
            assert CREDENTIAL_CACHE_TTL_S <= 5.0
            assert await allowed_before_429(elsewhere, customer) == PAID_CAP - 1

    async def test_unknown_user_is_404(self, client: httpx.AsyncClient) -> None:
        response = await set_tier(client, "nobody", "paid")
        assert response.status_code == 404
        assert response.json()["detail"] == "User not found"

    @pytest.mark.parametrize("body", [{"tier": "gold"}, {"tier": "standard"}, {}, {"tier": "paid", "email": "x"}])
    async def test_unknown_tier_or_field_is_422(
        self, client: httpx.AsyncClient, session: AsyncSession, body: dict[str, str]
    ) -> None:
        customer = await create_customer(session)
        response = await client.patch(f"/api/v1/admin/users/{customer.user.id}", json=body, headers=ADMIN_HEADERS)
        assert response.status_code == 422
        assert "detail" in response.json()

    async def test_create_with_an_unknown_tier_is_422(self, client: httpx.AsyncClient) -> None:
        body = {"email": "gold@example.com", "tier": "gold"}
        response = await client.post("/api/v1/admin/users", json=body, headers=ADMIN_HEADERS)
        assert response.status_code == 422
