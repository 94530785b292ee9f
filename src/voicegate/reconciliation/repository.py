"""The SQL of reconciliation: our provider cost over a window, and the four internal invariants' offenders.

Each offender query returns at most `limit` rows (the report lists that many) plus, separately, how many there are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from voicegate.db.models import (
    CreditHold,
    LedgerEntry,
    ProviderResembleJob,
    ProviderResembleRequest,
    ProviderResembleUsage,
    User,
)
from voicegate.db.models.provider_resemble_job import JobStatus


@dataclass(frozen=True)
class BalanceMismatch:
    user_id: str
    balance_usd: Decimal
    ledger_usd: Decimal


@dataclass(frozen=True)
class Offenders:
    ids: list[str]
    count: int


async def provider_cost_between(session: AsyncSession, start: datetime, end: datetime) -> tuple[Decimal, int]:
    """SUM(provider_cost_usd) and the row count of the shared account's usage rows (not BYOK) in `[start, end)`."""
    total, count = (
        await session.execute(
            select(func.sum(ProviderResembleUsage.provider_cost_usd), func.count()).where(
                ProviderResembleUsage.created_at >= start,
                ProviderResembleUsage.created_at < end,
                # Calls made with users' own keys were paid by their Resemble accounts, not from our wallet.
                ProviderResembleUsage.byok.is_(False),
            )
        )
    ).one()
    return (total if total is not None else Decimal(0)), int(count)


async def balance_mismatches(session: AsyncSession, limit: int) -> tuple[list[BalanceMismatch], int]:
    """Users whose `balance_usd` differs from SUM(ledger_entries.amount_usd) (no entries: a sum of zero)."""
    ledger = (
        select(LedgerEntry.user_id, func.sum(LedgerEntry.amount_usd).label("total"))
        .group_by(LedgerEntry.user_id)
        .subquery()
    )
    summed = func.coalesce(ledger.c.total, 0)
    differs = User.balance_usd != summed
    rows = (
        await session.execute(
            select(User.id, User.balance_usd, ledger.c.total)
            .outerjoin(ledger, ledger.c.user_id == User.id)
            .where(differs)
            .order_by(User.id)
            .limit(limit)
        )
    ).all()
    count = await session.scalar(
        select(func.count()).select_from(User).outerjoin(ledger, ledger.c.user_id == User.id).where(differs)
    )
    mismatches = [
        BalanceMismatch(user_id=user_id, balance_usd=balance, ledger_usd=total if total is not None else Decimal(0))
        for user_id, balance, total in rows
    ]
    return mismatches, int(count or 0)


async def holds_open_before(session: AsyncSession, moment: datetime, limit: int) -> Offenders:
    """Holds still `held` whose TTL ended before `moment`."""
    stale = (CreditHold.status == "held", CreditHold.expires_at < moment)
    ids = (
        await session.scalars(select(CreditHold.id).where(*stale).order_by(CreditHold.expires_at).limit(limit))
    ).all()
    count = await session.scalar(select(func.count()).select_from(CreditHold).where(*stale))
    return Offenders(list(ids), int(count or 0))


async def completed_jobs_without_one_usage(session: AsyncSession, limit: int) -> Offenders:
    """Completed jobs with no usage row, or more than one (the unique `job_id` should make that impossible)."""
    usage_count = func.count(ProviderResembleUsage.id)
    offending = (
        select(ProviderResembleJob.id)
        .outerjoin(ProviderResembleUsage, ProviderResembleUsage.job_id == ProviderResembleJob.id)
        .where(ProviderResembleJob.status == JobStatus.COMPLETED)
        .group_by(ProviderResembleJob.id)
        .having(usage_count != 1)
    )
    ids = (await session.scalars(offending.order_by(ProviderResembleJob.id).limit(limit))).all()
    count = await session.scalar(select(func.count()).select_from(offending.subquery()))
    return Offenders(list(ids), int(count or 0))


async def usage_without_request(session: AsyncSession, limit: int) -> Offenders:
    """Usage rows whose request row is missing (the foreign key should make that impossible)."""
    orphan = ProviderResembleRequest.id.is_(None)
    joined = select(ProviderResembleUsage.id).outerjoin(
        ProviderResembleRequest, ProviderResembleRequest.id == ProviderResembleUsage.request_id
    )
    ids = (await session.scalars(joined.where(orphan).order_by(ProviderResembleUsage.id).limit(limit))).all()
    count = await session.scalar(select(func.count()).select_from(joined.where(orphan).subquery()))
    return Offenders(list(ids), int(count or 0))
