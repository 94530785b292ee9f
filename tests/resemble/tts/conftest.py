from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import Customer, create_customer


@pytest.fixture
async def customer(session: AsyncSession) -> Customer:
    return await create_customer(session, credits="10.00")


@pytest.fixture
async def voice_uuid(client: httpx.AsyncClient, customer: Customer) -> str:
    response = await client.get("/api/v1/resemble/tts/voices", headers=customer.headers)
    return str(response.json()["items"][0]["uuid"])
