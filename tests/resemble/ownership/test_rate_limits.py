"""The caps table's `projects`, `agents` and `identity` rows apply; agent tools, webhooks and the knowledge base
count as `agents`, clips as `projects`."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import create_customer
from voicegate.config import Settings

API = "/api/v1/resemble"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    caps = {"projects": "3/minute", "agents": "3/minute", "identity": "3/minute"}
    return settings.model_copy(update={"resemble_rate_limits": caps})


async def test_projects_and_clips_share_the_projects_cap(client: httpx.AsyncClient, session: AsyncSession):
    customer = await create_customer(session)
    statuses = [(await client.get(f"{API}/projects", headers=customer.headers)).status_code for _ in range(3)]
    clips = await client.get(f"{API}/projects/deadbeef/clips", headers=customer.headers)
    assert statuses == [200, 200, 200]
    assert clips.status_code == 429
    assert int(clips.headers["Retry-After"]) >= 1
    assert (await client.get(f"{API}/agents", headers=customer.headers)).status_code == 200  # its own cap


@pytest.mark.parametrize("route", ["agents", "agent-tools", "agent-webhooks", "knowledge-base"])
async def test_the_agents_family_shares_the_agents_cap(client: httpx.AsyncClient, session: AsyncSession, route: str):
    customer = await create_customer(session)
    for other in ("agents", "agent-tools", "agent-webhooks"):
        assert (await client.get(f"{API}/{other}", headers=customer.headers)).status_code == 200
    assert (await client.get(f"{API}/{route}", headers=customer.headers)).status_code == 429


async def test_identity_routes_share_the_identity_cap(client: httpx.AsyncClient, session: AsyncSession):
    customer = await create_customer(session)
    statuses = [(await client.get(f"{API}/identity", headers=customer.headers)).status_code for _ in range(3)]
    body = {"url": "https://example.com/a.wav"}
    search = await client.post(f"{API}/identity/search", json=body, headers=customer.headers)
    assert statuses == [200, 200, 200]
    assert search.status_code == 429
    assert (await client.get(f"{API}/projects", headers=customer.headers)).status_code == 200  # its own cap
