from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import Customer, create_customer
from voicegate.db.models import LedgerEntry, ProviderResembleUsage, User


@pytest.fixture
async def customer(session: AsyncSession) -> Customer:
    return await create_customer(session, credits="10.00")


@pytest.fixture
async def voice_uuid(client: httpx.AsyncClient, customer: Customer) -> str:
    response = await client.get("/api/v1/resemble/tts/voices", headers=customer.headers)
    return str(response.json()["items"][0]["uuid"])


async def balance(session: AsyncSession, user_id: str) -> Decimal:
    value = await session.scalar(select(User.balance_usd).where(User.id == user_id))
    assert value is not None
    return value


async def usage_rows(session: AsyncSession, user_id: str) -> list[ProviderResembleUsage]:
    found = await session.scalars(
        select(ProviderResembleUsage)
        .where(ProviderResembleUsage.user_id == user_id)
        .execution_options(populate_existing=True)
    )
    return list(found)


async def ledger_kinds(session: AsyncSession, correlation_id: str) -> list[str]:
    """The kinds of ledger entries one request wrote (hold, capture, ...)."""
    found = await session.scalars(select(LedgerEntry.kind).where(LedgerEntry.correlation_id == correlation_id))
    return sorted(found)


async def upstream_calls(simulator: httpx.AsyncClient, suffix: str) -> list[dict]:
    return [r for r in (await simulator.get("/_sim/requests")).json() if r["path"].endswith(suffix)]
