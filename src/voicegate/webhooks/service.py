"""Outbound webhooks: the per-user signing secret, the delivery log, and delivering it with retries.

Life of a delivery: `enqueue` inserts it `pending` and due now, inside the caller's transaction (so the event exists
exactly when the job's terminal state does). `deliver` claims one due attempt with a conditional UPDATE that
counts the attempt and pushes `next_attempt_at` forward by a lease, commits, sends, then records the outcome:
`delivered`, or `pending` again after the backoff, or `failed` once `max_attempts` attempts have failed. Two workers
can never send the same attempt: only one UPDATE matches a due row; a worker that dies mid-send leaves the lease,
after which the attempt is retried (and was counted). The secret is read at claim time, so a rotation applies
to the very next attempt.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

import anyio
import httpx
from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voicegate import metrics
from voicegate.db.models import User, WebhookDelivery
from voicegate.db.upsert import insert_or_ignore
from voicegate.errors import NotFound
from voicegate.kit.ids import new_id
from voicegate.kit.time import isoformat_z, utc_now
from voicegate.webhooks import outbound
from voicegate.webhooks.signing import new_secret

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=outbound.SEND_TIMEOUT_S * 6)
Outcome = Literal["delivered", "retrying", "failed", "skipped"]


# --- the per-user secret -------------------------------------------------------------------------------------------


async def get_or_create_secret(session: AsyncSession, user_id: str) -> str:
    """The user's signing secret, created on first use. Writes first, so it is race-free on SQLite and PostgreSQL."""
    await session.execute(
        update(User)
        .where(User.id == user_id, User.webhook_secret.is_(None))
        .values(webhook_secret=new_secret())
        .execution_options(synchronize_session=False)
    )
    secret = await session.scalar(select(User.webhook_secret).where(User.id == user_id))
    if secret is None:
        raise NotFound("User not found")
    return secret


async def rotate_secret(session: AsyncSession, user_id: str) -> str:
    """Replace the user's secret; every later attempt, including retries of older events, signs with the new one."""
    secret = new_secret()
    result = await session.execute(
        update(User)
        .where(User.id == user_id)
        .values(webhook_secret=secret)
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFound("User not found")
    log.info("webhook_secret_rotated", extra={"user_id": user_id})
    return secret


# --- the delivery log ----------------------------------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return isoformat_z(value)
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def serialise(payload: dict[str, Any]) -> str:
    """The exact body receivers get (and the bytes that are signed): compact JSON, datetimes and Decimals as text."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=_json_default)


async def _by_job(session: AsyncSession, job_id: str) -> WebhookDelivery | None:
    return await session.scalar(select(WebhookDelivery).where(WebhookDelivery.job_id == job_id))


async def enqueue(
    session: AsyncSession,
    *,
    user_id: str,
    job_id: str | None,
    url: str,
    event_type: str,
    payload: dict[str, Any],
) -> WebhookDelivery:
    """Record one event to deliver to `url`, due now. Only flushes: the caller's commit makes it visible.

    At most one delivery exists per job: enqueueing a job again returns the existing row. The insert is
    `INSERT ... ON CONFLICT (job_id) DO NOTHING`, so the caller's transaction survives a duplicate on both
    backends (a SAVEPOINT would not do on SQLite: its driver lets the outermost RELEASE commit the insert).
    `payload` is the whole body, sent as is (Standard Webhooks recommends `{"type", "timestamp", "data"}`); it is
    serialised once here and every attempt sends, and signs, exactly the stored text.
    """
    now = utc_now()
    values: dict[str, Any] = {
        "id": new_id(),
        "created_at": now,
        "user_id": user_id,
        "job_id": job_id,
        "url": url,
        "event_type": event_type,
        "payload": serialise(payload),
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
    }
    await session.flush()  # the caller's pending rows (the job, say) go first: the insert may refer to them
    if job_id is None:
        delivery = WebhookDelivery(**values)
        session.add(delivery)
        await session.flush()
    else:
        inserted = await insert_or_ignore(session, WebhookDelivery, values, [WebhookDelivery.job_id])
        existing = await _by_job(session, job_id)
        if existing is None:  # pragma: no cover - the row was inserted or already there
            raise RuntimeError(f"webhook delivery for job {job_id} vanished")
        delivery = existing
        if not inserted:
            log.info("webhook_enqueue_duplicate", extra={"delivery_id": delivery.id, "job_id": job_id})
            return delivery
    log.info(
        "webhook_enqueued",
        extra={"delivery_id": delivery.id, "user_id": user_id, "job_id": job_id, "event_type": event_type},
    )
    return delivery


async def list_deliveries(
    session: AsyncSession, user_id: str, *, page: int, page_size: int
) -> tuple[list[WebhookDelivery], int]:
    mine = WebhookDelivery.user_id == user_id
    total = await session.scalar(select(func.count()).select_from(WebhookDelivery).where(mine))
    rows = await session.scalars(
        select(WebhookDelivery)
        .where(mine)
        .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    return list(rows), int(total or 0)


async def get_delivery(session: AsyncSession, user_id: str, delivery_id: str) -> WebhookDelivery:
    """One of the user's deliveries; someone else's is indistinguishable from a missing one (404)."""
    delivery = await session.scalar(
        select(WebhookDelivery).where(WebhookDelivery.id == delivery_id, WebhookDelivery.user_id == user_id)
    )
    if delivery is None:
        raise NotFound("Webhook delivery not found")
    return delivery


# --- delivering ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Claim:
    delivery_id: str
    user_id: str
    url: str
    body: bytes
    attempt: int
    secret: str


def _due(now: datetime) -> Any:
    return (
        WebhookDelivery.status == "pending",
        or_(WebhookDelivery.next_attempt_at.is_(None), WebhookDelivery.next_attempt_at <= now),
    )


async def _claim(sessionmaker: async_sessionmaker[AsyncSession], delivery_id: str, now: datetime) -> _Claim | None:
    async with sessionmaker() as session:
        claimed = await session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id, *_due(now))
            .values(attempts=WebhookDelivery.attempts + 1, next_attempt_at=now + LEASE)
            .execution_options(synchronize_session=False)
        )
        if not claimed.rowcount:  # type: ignore[attr-defined]
            await session.rollback()
            return None
        row = (
            await session.execute(
                select(
                    WebhookDelivery.user_id, WebhookDelivery.url, WebhookDelivery.payload, WebhookDelivery.attempts
                ).where(WebhookDelivery.id == delivery_id)
            )
        ).one()
        secret = await get_or_create_secret(session, row.user_id)
        await session.commit()
    return _Claim(delivery_id, row.user_id, row.url, row.payload.encode("utf-8"), row.attempts, secret)


async def _record(
    sessionmaker: async_sessionmaker[AsyncSession],
    claim: _Claim,
    result: outbound.AttemptResult,
    finished: datetime,
    max_attempts: int,
) -> Outcome:
    values: dict[str, Any] = {"last_status_code": result.status_code, "last_error": result.error}
    outcome: Outcome
    if result.ok:
        outcome = "delivered"
        values.update(status="delivered", delivered_at=finished, next_attempt_at=None)
    elif claim.attempt >= max_attempts:
        outcome = "failed"
        values.update(status="failed", next_attempt_at=None)
    else:
        outcome = "retrying"
        values.update(next_attempt_at=finished + outbound.backoff_delay(claim.attempt))
    async with sessionmaker() as session:
        written = await session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == claim.delivery_id,
                WebhookDelivery.status == "pending",
                WebhookDelivery.attempts == claim.attempt,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        await session.commit()
    if not written.rowcount:  # type: ignore[attr-defined]
        log.warning(
            "webhook_outcome_superseded",
            extra={"delivery_id": claim.delivery_id, "user_id": claim.user_id, "attempt": claim.attempt},
        )
    return outcome


async def deliver(
    sessionmaker: async_sessionmaker[AsyncSession],
    http: httpx.AsyncClient,
    delivery_id: str,
    *,
    allow_private: bool,
    max_attempts: int,
    now: datetime | None = None,
) -> Outcome:
    """Make one attempt at a delivery if it is pending and due; returns what became of it ("skipped" otherwise).

    Uses its own sessions and commits them; `now` (default: the clock) lets tests step through the backoff.
    Receiver problems (refused URL, timeout, non-2xx) are recorded, never raised; database errors do raise.
    """
    started = now or utc_now()
    clock = time.monotonic()
    claim = await _claim(sessionmaker, delivery_id, started)
    if claim is None:
        return "skipped"
    result = await outbound.send(
        http,
        claim.url,
        secret=claim.secret,
        msg_id=claim.delivery_id,
        timestamp=int(started.timestamp()),
        body=claim.body,
        allow_private=allow_private,
    )
    finished = started + timedelta(seconds=time.monotonic() - clock)
    outcome = await _record(sessionmaker, claim, result, finished, max_attempts)
    metrics.webhook_deliveries.labels(outcome).inc()
    log_level = logging.INFO if outcome == "delivered" else logging.WARNING
    log.log(
        log_level,
        "webhook_attempt",
        extra={
            "delivery_id": claim.delivery_id,
            "user_id": claim.user_id,
            "attempt": claim.attempt,
            "max_attempts": max_attempts,
            "outcome": outcome,
            "status_code": result.status_code,
            "error": result.error,
        },
    )
    return outcome


async def deliver_due(
    sessionmaker: async_sessionmaker[AsyncSession],
    http: httpx.AsyncClient,
    *,
    allow_private: bool,
    max_attempts: int,
    limit: int = 100,
    concurrency: int = 8,
    now: datetime | None = None,
) -> int:
    """Attempt every due pending delivery (up to `limit`, oldest due first, `concurrency` at a time).

    Returns how many attempts were made. One delivery's failure, even an unexpected one, never stops the others.
    Safe to run from several workers at once: each attempt is claimed by exactly one.
    """
    async with sessionmaker() as session:
        ids = list(
            await session.scalars(
                select(WebhookDelivery.id)
                .where(*_due(now or utc_now()))
                .order_by(WebhookDelivery.next_attempt_at)
                .limit(limit)
            )
        )
    attempted = 0
    limiter = anyio.CapacityLimiter(max(1, concurrency))

    async def one(delivery_id: str) -> None:
        nonlocal attempted
        async with limiter:
            try:
                outcome = await deliver(
                    sessionmaker, http, delivery_id, allow_private=allow_private, max_attempts=max_attempts, now=now
                )
            except Exception:
                log.exception("webhook_delivery_crashed", extra={"delivery_id": delivery_id})
                return
        if outcome != "skipped":
            attempted += 1

    async with anyio.create_task_group() as group:
        for delivery_id in ids:
            group.start_soon(one, delivery_id)
    return attempted
