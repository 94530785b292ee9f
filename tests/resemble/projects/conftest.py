from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import Customer, create_customer

PROJECTS = "/api/v1/resemble/projects"
VOICE_UUID = "55592656"  # seeded in the simulator


@pytest.fixture
async def customer(session: AsyncSession) -> Customer:
    return await create_customer(session, credits="10.00")


@pytest.fixture
async def other(session: AsyncSession) -> Customer:
    return await create_customer(session, credits="10.00")


async def create_project(client: httpx.AsyncClient, customer: Customer, name: str = "Audiobook") -> str:
    response = await client.post(PROJECTS, json={"name": name}, headers=customer.headers)
    assert response.status_code == 200, response.text
    return str(response.json()["item"]["uuid"])


async def create_clip(client: httpx.AsyncClient, customer: Customer, project: str, **fields: object) -> dict:
    body = {"body": "Chapter one. It was a cold morning.", "voice_uuid": VOICE_UUID, **fields}
    response = await client.post(f"{PROJECTS}/{project}/clips", json={"fields": body}, headers=customer.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def upstream_requests(simulator: httpx.AsyncClient, fragment: str = "/projects") -> list[dict]:
    return [r for r in (await simulator.get("/_sim/requests")).json() if fragment in r["path"]]
