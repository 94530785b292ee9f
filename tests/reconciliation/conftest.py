"""Traffic to reconcile (syntheses through the gateway) and bad rows planted behind the services' backs."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tests.factories import ADMIN_HEADERS, Customer, create_job
from voicegate.db.models import (
    CreditHold,
    ProviderResembleUsage,
    User,
)
from voicegate.kit.ids import new_id
from voicegate.kit.time import utc_now

RECONCILIATION = "/api/v1/admin/reconciliation"
VOICE = "55592656"


async def synthesize(client: httpx.AsyncClient, customer: Customer, text: str) -> Decimal:
    """One billed synthesis; returns its provider cost."""
    response = await client.post(
        "/api/v1/resemble/tts/synthesize", json={"voice_uuid": VOICE, "text": text}, headers=customer.headers
    )
    assert response.status_code == 200, response.text
    return Decimal(response.json()["billing"]["provider_cost"])


async def skew(simulator: httpx.AsyncClient, pct: int) -> None:
    response = await simulator.post("/_sim/billing", json={"skew_pct": pct})
    assert response.status_code == 200, response.text


async def report(client: httpx.AsyncClient, window: str = "24h") -> dict:
    response = await client.get(RECONCILIATION, params={"window": window}, headers=ADMIN_HEADERS)
    assert response.status_code == 200, response.text
    return dict(response.json())


def check(body: dict, name: str) -> dict:
    return next(dict(found) for found in body["checks"] if found["name"] == name)


async def plant_balance_drift(session: AsyncSession, customer: Customer) -> None:
    """A balance changed without a ledger entry."""
    await session.execute(update(User).where(User.id == customer.user.id).values(balance_usd=Decimal("99.00")))
    await session.commit()


async def plant_stale_hold(session: AsyncSession, customer: Customer) -> str:
    hold = CreditHold(
        user_id=customer.user.id,
        correlation_id=new_id(),
        amount_usd=Decimal("0.10"),
        status="held",
        expires_at=utc_now() - timedelta(hours=1),
    )
    session.add(hold)
    await session.commit()
    return hold.id


async def plant_unbilled_job(session: AsyncSession, customer: Customer) -> str:
    """A completed job that no usage row bills."""
    return await create_job(session, customer.user.id, status="completed", upstream_id=new_id())


async def plant_orphan_usage(engine: AsyncEngine, customer: Customer) -> str:
    """A usage row whose request row does not exist: only possible with the foreign keys switched off."""
    usage_id = new_id()
    row = {
        "id": usage_id,
        "user_id": customer.user.id,
        "request_id": new_id(),
        "capability": "tts",
        "unit": "audio_seconds",
        "quantity": Decimal(1),
        "unit_price_usd": Decimal("0.0005"),
        "provider_cost_usd": Decimal("0.0005"),
        "markup_pct": Decimal(20),
        "charged_usd": Decimal("0.0006"),
        "currency": "USD",
        "created_at": utc_now() - timedelta(days=3),  # outside the window: only the check sees it
    }
    sqlite = engine.dialect.name == "sqlite"
    async with engine.connect() as connection:
        # SQLite honours the pragma only outside a transaction; PostgreSQL skips FK triggers for a replica session.
        await connection.exec_driver_sql(
            "PRAGMA foreign_keys=OFF" if sqlite else "SET session_replication_role = replica"
        )
        await connection.execute(ProviderResembleUsage.__table__.insert().values(**row))
        await connection.commit()
        await connection.exec_driver_sql("PRAGMA foreign_keys=ON" if sqlite else "RESET session_replication_role")
    return usage_id
