"""SQL for the caller's own account views: spend per day, activity, their API keys."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from voicegate.db.models import ApiKey, ProviderResembleAsset, ProviderResembleRequest, ProviderResembleUsage


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


ActivityRow = tuple[ProviderResembleRequest, ProviderResembleUsage | None, ProviderResembleAsset | None]


def _activity(user_id: str) -> Select[ProviderResembleRequest, ProviderResembleUsage, ProviderResembleAsset]:
    usage_of_request = ProviderResembleUsage.request_id == ProviderResembleRequest.id
    asset_of_row = or_(
        ProviderResembleAsset.request_id == ProviderResembleRequest.id,
        and_(ProviderResembleUsage.job_id.is_not(None), ProviderResembleAsset.job_id == ProviderResembleUsage.job_id),
    )
    return (
        select(ProviderResembleRequest, ProviderResembleUsage, ProviderResembleAsset)
        .outerjoin(ProviderResembleUsage, usage_of_request)
        .outerjoin(ProviderResembleAsset, and_(asset_of_row, ProviderResembleAsset.user_id == user_id))
        .where(ProviderResembleRequest.user_id == user_id)
    )


async def activity(
    session: AsyncSession, user_id: str, *, capability: str | None, status: str | None, offset: int, limit: int
) -> Sequence[ActivityRow]:
    """The user's requests newest first, each with its charge and stored media when there are any."""
    statement = _activity(user_id)
    if capability:
        statement = statement.where(ProviderResembleRequest.capability == capability)
    if status:
        statement = statement.where(ProviderResembleRequest.status == status)
    statement = statement.order_by(ProviderResembleRequest.created_at.desc(), ProviderResembleRequest.id.desc())
    rows = await session.execute(statement.offset(offset).limit(limit))
    return [(request, usage, asset) for request, usage, asset in rows.all()]


async def activity_item(session: AsyncSession, user_id: str, request_id: str) -> ActivityRow | None:
    row = (await session.execute(_activity(user_id).where(ProviderResembleRequest.id == request_id))).first()
    return None if row is None else (row[0], row[1], row[2])
