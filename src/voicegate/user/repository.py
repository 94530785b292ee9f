"""SQL for the caller's own account views: spend per day, their API keys."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from voicegate.db.models import ApiKey, ProviderResembleUsage


async def charges_since(
    session: AsyncSession, user_id: str, since: datetime
) -> Sequence[tuple[datetime, str, Decimal]]:
    """Every billed charge of the user from `since` on: (when, capability, charged). Days are bucketed by the
    caller in UTC, so the answer does not depend on the database's session time zone."""
    rows = await session.execute(
        select(ProviderResembleUsage.created_at, ProviderResembleUsage.capability, ProviderResembleUsage.charged_usd)
        .where(ProviderResembleUsage.user_id == user_id, ProviderResembleUsage.created_at >= since)
        .order_by(ProviderResembleUsage.created_at)
    )
    return [(when, capability, charged) for when, capability, charged in rows.all()]


async def list_keys(session: AsyncSession, user_id: str) -> Sequence[ApiKey]:
    statement = select(ApiKey).where(ApiKey.user_id == user_id).order_by(ApiKey.created_at.desc(), ApiKey.id)
    return (await session.scalars(statement)).all()
