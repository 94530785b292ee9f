"""All SQL of the async jobs, with the job's state transitions named.

Every transition is one conditional UPDATE `... WHERE status IN OPEN_STATUSES` (or narrower) whose row count tells
the caller whether it won: two callers racing to end a job cannot both succeed, so the one that did is the only one
that bills or releases. Nothing here commits; the service decides when a unit of work ends.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from voicegate.db.models import (
    CreditHold,
    ProviderResembleJob,
    ProviderResembleRequest,
    ProviderResembleUsage,
    ProviderResembleWebhookEvent,
)
from voicegate.db.models.provider_resemble_job import OPEN_STATUSES, JobStatus
from voicegate.db.upsert import insert_or_ignore

Job = ProviderResembleJob


# reading


async def reads_input(session: AsyncSession, asset_id: str) -> bool:
    """Whether any job was recorded with this asset as its input."""
    found = await session.scalar(select(Job.id).where(Job.input_asset_id == asset_id).limit(1))
    return found is not None


async def get(session: AsyncSession, job_id: str) -> Job | None:
    """Any job by id: for work done on nobody's behalf (the poller, a stored callback)."""
    return await session.get(Job, job_id)


async def get_own(session: AsyncSession, *, user_id: str, capability: str, job_id: str) -> Job | None:
    """The caller's own job of this capability; someone else's is None, exactly like a missing one."""
    return await session.scalar(
        select(Job).where(Job.id == job_id, Job.user_id == user_id, Job.capability == capability)
    )


async def get_by_callback_token(session: AsyncSession, token: str) -> Job | None:
    return await session.scalar(select(Job).where(Job.callback_token == token))


async def page_of_user(
    session: AsyncSession, *, user_id: str, capability: str, offset: int, limit: int
) -> tuple[Sequence[Job], int]:
    """One page of a user's jobs, newest first, and how many there are in all."""
    filters = (Job.user_id == user_id, Job.capability == capability)
    total = await session.scalar(select(func.count()).select_from(Job).where(*filters)) or 0
    jobs = (
        await session.scalars(
            select(Job).where(*filters).order_by(Job.created_at.desc(), Job.id).offset(offset).limit(limit)
        )
    ).all()
    return jobs, total


async def open_job_ids(session: AsyncSession, *, created_after: datetime, limit: int) -> Sequence[str]:
    """Jobs still open upstream, least recently refreshed first (what the poller asks Resemble about)."""
    return (
        await session.scalars(
            select(Job.id)
            .where(Job.status.in_(OPEN_STATUSES), Job.upstream_id.is_not(None), Job.created_at > created_after)
            .order_by(Job.updated_at)
            .limit(limit)
        )
    ).all()


async def open_job_ids_of_user(session: AsyncSession, user_id: str) -> Sequence[str]:
    return (await session.scalars(select(Job.id).where(Job.user_id == user_id, Job.status.in_(OPEN_STATUSES)))).all()


async def upstream_jobs_of_user(
    session: AsyncSession, user_id: str, *, after_id: str, limit: int
) -> Sequence[tuple[str, str, str]]:
    """`(id, capability, upstream_id)` of the user's jobs known upstream, in id order, a batch at a time."""
    rows = await session.execute(
        select(Job.id, Job.capability, Job.upstream_id)
        .where(Job.user_id == user_id, Job.upstream_id.is_not(None), Job.id > after_id)
        .order_by(Job.id)
        .limit(limit)
    )
    return [(job_id, capability, str(upstream_id)) for job_id, capability, upstream_id in rows.all()]


async def hold_for(session: AsyncSession, job: Job) -> CreditHold | None:
    """The credit hold placed at submit (correlated by the job's request id); gone only if never placed."""
    return await session.scalar(select(CreditHold).where(CreditHold.correlation_id == job.request_id))


async def usage_for(session: AsyncSession, job_id: str) -> ProviderResembleUsage | None:
    return await session.scalar(select(ProviderResembleUsage).where(ProviderResembleUsage.job_id == job_id))


# state transitions


def _won(result: Any) -> bool:
    return bool(result.rowcount)


async def advance(session: AsyncSession, job_id: str, *, item: dict[str, Any], now: datetime) -> bool:
    """pending -> processing. False when the job had already moved on."""
    result = await session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.PENDING)
        .values(status=JobStatus.PROCESSING, result=json.dumps(item), updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return _won(result)


async def touch(session: AsyncSession, job_id: str, *, item: dict[str, Any], now: datetime) -> None:
    """Keep Resemble's latest word on an open job without changing its status (a final job is left alone)."""
    await session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status.in_(OPEN_STATUSES))
        .values(result=json.dumps(item), updated_at=now)
        .execution_options(synchronize_session=False)
    )


async def claim_completion(
    session: AsyncSession,
    job_id: str,
    *,
    rate_key: str,
    quantity: Decimal,
    item: dict[str, Any],
    output_url: str | None,
    now: datetime,
) -> bool:
    """Open -> completed, recording what is billed. True for exactly one caller: the one that must charge."""
    result = await session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status.in_(OPEN_STATUSES))
        .values(
            status=JobStatus.COMPLETED,
            completed_at=now,
            updated_at=now,
            rate_key=rate_key,
            quantity=quantity,
            result=json.dumps(item),
            output_url=output_url,
        )
        .execution_options(synchronize_session=False)
    )
    return _won(result)


async def claim_failure(
    session: AsyncSession, job_id: str, *, error: str | None, item: dict[str, Any], now: datetime
) -> bool:
    """Open -> failed. True for exactly one caller: the one that must release the hold."""
    result = await session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status.in_(OPEN_STATUSES))
        .values(status=JobStatus.FAILED, completed_at=now, updated_at=now, error=error, result=json.dumps(item))
        .execution_options(synchronize_session=False)
    )
    return _won(result)


# the request row behind a job


async def mark_request_succeeded(session: AsyncSession, request_id: str, *, now: datetime) -> None:
    await session.execute(
        update(ProviderResembleRequest)
        .where(ProviderResembleRequest.id == request_id)
        .values(status="succeeded", completed_at=now)
    )


async def mark_request_failed(session: AsyncSession, request_id: str, *, error: str | None, now: datetime) -> None:
    await session.execute(
        update(ProviderResembleRequest)
        .where(ProviderResembleRequest.id == request_id)
        .values(status="failed", error=error, completed_at=now)
    )


# inbound callbacks


async def store_callback_event(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Insert a delivery unless `(source, external_id)` is already stored; True when it is new."""
    return await insert_or_ignore(
        session,
        ProviderResembleWebhookEvent,
        values,
        [ProviderResembleWebhookEvent.source, ProviderResembleWebhookEvent.external_id],
    )


async def get_callback_event(session: AsyncSession, event_id: str) -> ProviderResembleWebhookEvent | None:
    return await session.get(ProviderResembleWebhookEvent, event_id)


async def mark_callback_handled(session: AsyncSession, event_id: str, *, now: datetime) -> None:
    await session.execute(
        update(ProviderResembleWebhookEvent)
        .where(ProviderResembleWebhookEvent.id == event_id, ProviderResembleWebhookEvent.handled_at.is_(None))
        .values(handled_at=now)
    )
