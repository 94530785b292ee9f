"""All SQL of a user's erasure: its progress record, and the removal of personal data from every table that
keeps some. The ledger, usage rows and credit holds are never touched. Writes only flush; the service commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Executable, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from voicegate.db.models import (
    ApiKey,
    IdempotencyKey,
    LedgerEntry,
    ProviderResembleAsset,
    ProviderResembleJob,
    ProviderResembleRequest,
    ProviderResembleResource,
    ProviderResembleUsage,
    ProviderResembleVoice,
    ProviderResembleWebhookEvent,
    User,
    UserErasure,
    UserProviderKey,
    WebhookDelivery,
)
from voicegate.db.upsert import insert_or_ignore
from voicegate.kit.ids import new_id


@dataclass(frozen=True)
class ErasureState:
    """An erasure row as plain values."""

    id: str
    user_id: str
    actor: str
    started_at: datetime
    finished_at: datetime | None
    attempts: int
    steps: dict[str, Any]
    report: dict[str, Any] | None


def _state(row: UserErasure) -> ErasureState:
    return ErasureState(
        id=row.id,
        user_id=row.user_id,
        actor=row.actor,
        started_at=row.started_at,
        finished_at=row.finished_at,
        attempts=row.attempts,
        steps=dict(row.steps or {}),
        report=dict(row.report) if row.report is not None else None,
    )


def _rowcount(result: Any) -> int:
    return int(result.rowcount or 0)


# the progress record


async def find(session: AsyncSession, user_id: str) -> ErasureState | None:
    row = await session.scalar(select(UserErasure).where(UserErasure.user_id == user_id))
    return _state(row) if row is not None else None


async def erasure_started(session: AsyncSession, user_id: str) -> bool:
    return await session.scalar(select(UserErasure.id).where(UserErasure.user_id == user_id)) is not None


async def erased_at(session: AsyncSession, user_id: str) -> datetime | None:
    return await session.scalar(select(UserErasure.finished_at).where(UserErasure.user_id == user_id))


async def start(session: AsyncSession, user_id: str, *, actor: str, now: datetime) -> bool:
    """Record that the user's erasure has begun; False when it already had (a resumed or repeated call)."""
    values = {"id": new_id(), "user_id": user_id, "actor": actor, "started_at": now, "attempts": 1, "steps": {}}
    return await insert_or_ignore(session, UserErasure, values, [UserErasure.user_id])


async def claim(session: AsyncSession, erasure_id: str, *, now: datetime, until: datetime, resumed: bool) -> bool:
    """Take the run of an unfinished erasure unless another run holds a lease that has not lapsed."""
    values: dict[str, Any] = {"running_until": until}
    if resumed:
        values["attempts"] = UserErasure.attempts + 1
    result = await session.execute(
        update(UserErasure)
        .where(
            UserErasure.id == erasure_id,
            UserErasure.finished_at.is_(None),
            or_(UserErasure.running_until.is_(None), UserErasure.running_until < now),
        )
        .values(**values)
    )
    return _rowcount(result) == 1


async def release(session: AsyncSession, erasure_id: str) -> None:
    await session.execute(update(UserErasure).where(UserErasure.id == erasure_id).values(running_until=None))


async def save_steps(session: AsyncSession, erasure_id: str, steps: dict[str, Any], *, until: datetime) -> None:
    """Record the steps' state and renew the run's lease."""
    await session.execute(
        update(UserErasure).where(UserErasure.id == erasure_id).values(steps=steps, running_until=until)
    )


async def finish(session: AsyncSession, erasure_id: str, *, report: dict[str, Any], now: datetime) -> None:
    await session.execute(
        update(UserErasure)
        .where(UserErasure.id == erasure_id, UserErasure.finished_at.is_(None))
        .values(finished_at=now, report=report, running_until=None)
    )


# what the erasure removes


async def revoke_keys(session: AsyncSession, user_id: str, *, now: datetime) -> int:
    result = await session.execute(
        update(ApiKey).where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None)).values(revoked_at=now)
    )
    return _rowcount(result)


async def key_ids(session: AsyncSession, user_id: str) -> list[str]:
    return list((await session.scalars(select(ApiKey.id).where(ApiKey.user_id == user_id))).all())


async def resources_retired_since(session: AsyncSession, user_id: str, since: datetime) -> dict[str, int]:
    """How many of the user's owned objects were retired at or after `since`, per kind."""
    Row = ProviderResembleResource
    rows = await session.execute(
        select(Row.kind, func.count())
        .where(Row.user_id == user_id, Row.deleted_at.is_not(None), Row.deleted_at >= since)
        .group_by(Row.kind)
    )
    return {kind: int(count) for kind, count in rows.all()}


async def retire_resources(session: AsyncSession, user_id: str, kind: str, *, now: datetime) -> int:
    """Retire the user's rows of a kind Resemble cannot delete (only our record of them goes)."""
    Row = ProviderResembleResource
    result = await session.execute(
        update(Row).where(Row.user_id == user_id, Row.kind == kind, Row.deleted_at.is_(None)).values(deleted_at=now)
    )
    return _rowcount(result)


# Columns of the user's rows that hold what they said, sent or were answered: set to this value.
_JOB_PERSONAL = dict.fromkeys(
    ("input_url", "params", "output_url", "result", "error", "callback_uri", "callback_token"), None
)


def _scrubs(user_id: str, now: datetime) -> dict[str, Executable]:
    """One statement per table, named as the report counts it."""
    Job = ProviderResembleJob
    Asset = ProviderResembleAsset
    Resource = ProviderResembleResource
    Voice = ProviderResembleVoice
    Event = ProviderResembleWebhookEvent
    users_jobs = select(Job.id).where(Job.user_id == user_id)
    return {
        "assets_marked_deleted": update(Asset)
        .where(Asset.user_id == user_id, Asset.deleted_at.is_(None))
        .values(deleted_at=now),
        "requests_scrubbed": update(ProviderResembleRequest)
        .where(ProviderResembleRequest.user_id == user_id)
        .values(raw_response=None, error=None),
        "jobs_scrubbed": update(Job).where(Job.user_id == user_id).values(**_JOB_PERSONAL),
        "callback_events_scrubbed": update(Event).where(Event.job_id.in_(users_jobs)).values(payload="{}"),
        "resources_scrubbed": update(Resource)
        .where(Resource.user_id == user_id, Resource.snapshot.is_not(None))
        .values(snapshot=None),
        "voice_consents_removed": update(Voice)
        .where(Voice.user_id == user_id, Voice.consent_text.is_not(None))
        .values(consent_text=None),
        "webhook_deliveries_deleted": delete(WebhookDelivery).where(WebhookDelivery.user_id == user_id),
        "idempotency_keys_deleted": delete(IdempotencyKey).where(IdempotencyKey.user_id == user_id),
        "provider_keys_deleted": delete(UserProviderKey).where(UserProviderKey.user_id == user_id),
    }


async def scrub_personal_data(session: AsyncSession, user_id: str, *, now: datetime) -> dict[str, int]:
    """Mark every asset row deleted and strip personal data from the rows that stay; returns rows touched per
    table. Request and job rows stay (they carry the usage and ledger's request ids) without what was said,
    sent or answered; delivery logs, stored idempotent answers and the user's own provider keys go entirely."""
    counts = {name: _rowcount(await session.execute(statement)) for name, statement in _scrubs(user_id, now).items()}
    await session.execute(update(User).where(User.id == user_id).values(email=pseudonym(user_id), webhook_secret=None))
    return counts


def pseudonym(user_id: str) -> str:
    """What stands in for an erased user's email: unique, never deliverable (`.invalid` is reserved)."""
    return f"erased-{user_id}@invalid"


async def kept_financial_rows(session: AsyncSession, user_id: str) -> dict[str, int]:
    ledger = await session.scalar(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.user_id == user_id))
    usage = await session.scalar(
        select(func.count()).select_from(ProviderResembleUsage).where(ProviderResembleUsage.user_id == user_id)
    )
    return {"ledger_entries": int(ledger or 0), "usage_rows": int(usage or 0)}
