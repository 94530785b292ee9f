"""`Idempotency-Key` on billed POSTs: a retry with the same key replays the stored response, never charges again.

The first request inserts `(user_id, key)` as in progress (a unique constraint, so exactly one of two racing
requests wins); the winner stores its response on success, or deletes the row on failure so the client may retry.
The transaction that places the request's credit hold also links the claim to that request (`link_request`).

A claim can outlive its request: when the database goes away mid-request, neither the response nor the clean-up
can be written. Such a claim is looked at again once it is older than `CLAIM_LEASE`: if its request never held
credit, or its hold was given back, nothing was charged and a retry takes the claim over; if it was charged, a
retry is told so (409), never charged again; while its hold is still open it is still in progress.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from voicegate.db.models import CreditHold, IdempotencyKey, ProviderResembleRequest
from voicegate.errors import Conflict, Unprocessable
from voicegate.kit.time import utc_now

MAX_KEY_LENGTH = 255
# No live request holds a claim this long: an upstream call is bounded by its read timeout times its retries (60 s x
# 3 by default), a media fetch by MEDIA_FETCH_TIMEOUT_S (30 s). An older claim in progress belongs to a request that
# died without settling it.
CLAIM_LEASE = timedelta(minutes=5)
CHARGED = ("succeeded", "submitted")


@dataclass(frozen=True)
class _Owner:
    user_id: str
    key: str


# The claim the running request owns, for `link_request` in the hold's transaction (one value per request task).
_owner: ContextVar[_Owner | None] = ContextVar("idempotency_owner", default=None)


async def link_request(session: AsyncSession, request_id: str) -> None:
    """Tie the caller's claim, if it sent an `Idempotency-Key`, to its billed request; only flushes, so it commits
    with the credit hold."""
    owner = _owner.get()
    if owner is None:
        return
    await session.execute(
        update(IdempotencyKey)
        .where(
            IdempotencyKey.user_id == owner.user_id,
            IdempotencyKey.key == owner.key,
            IdempotencyKey.status == "in_progress",
        )
        .values(request_id=request_id)
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True)
class Outcome:
    body: dict[str, Any]
    replayed: bool


def fingerprint(operation: str, payload: Any) -> str:
    canonical = json.dumps({"op": operation, "payload": payload}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def _claim(session: AsyncSession, user_id: str, key: str, print_: str) -> IdempotencyKey | None:
    """Returns the existing row when the key was used before, or None once this request owns the key."""
    session.add(IdempotencyKey(user_id=user_id, key=key, fingerprint=print_))
    try:
        await session.commit()
        return None
    except IntegrityError:
        await session.rollback()
    existing = await session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
    )
    if existing is None:  # the owner failed and released the key between our insert and this read
        raise Conflict("A request with this Idempotency-Key was just retried; try again")
    return existing


async def run_once(
    session: AsyncSession,
    *,
    user_id: str,
    key: str | None,
    operation: str,
    payload: Any,
    produce: Callable[[], Awaitable[dict[str, Any]]],
) -> Outcome:
    if key is None:
        return Outcome(await produce(), replayed=False)
    if not key.strip() or len(key) > MAX_KEY_LENGTH:
        raise Unprocessable(f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} characters")
    print_ = fingerprint(operation, payload)
    existing = await _claim(session, user_id, key, print_)
    if existing is not None:
        if existing.fingerprint != print_:
            raise Unprocessable("Idempotency-Key was already used with a different request body")
        if existing.status == "completed" and existing.response_body is not None:
            return Outcome(json.loads(existing.response_body), replayed=True)
        if not await _take_over(session, existing):
            raise Conflict("A request with this Idempotency-Key is still in progress")
    owned = _owner.set(_Owner(user_id, key))
    try:
        body = await produce()
    except BaseException:
        await session.rollback()
        await session.execute(
            delete(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
        )
        await session.commit()
        raise
    finally:
        _owner.reset(owned)
    row = await session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
    )
    if row is not None:
        row.status, row.response_status, row.response_body = "completed", 200, json.dumps(body)
        await session.commit()
    return Outcome(body, replayed=False)


async def _take_over(session: AsyncSession, claim: IdempotencyKey) -> bool:
    """Whether this request may run in place of an abandoned claim (see the module's docstring)."""
    if claim.created_at > utc_now() - CLAIM_LEASE:
        return False
    if claim.request_id is not None:
        request_status = await session.scalar(
            select(ProviderResembleRequest.status).where(ProviderResembleRequest.id == claim.request_id)
        )
        if request_status in CHARGED:
            raise Conflict(
                "The request with this Idempotency-Key was carried out and charged, but its response was lost; "
                f"it is request {claim.request_id} in your usage. It will not be charged again."
            )
        hold_status = await session.scalar(
            select(CreditHold.status).where(CreditHold.correlation_id == claim.request_id)
        )
        if hold_status == "held":
            return False  # still running, or waiting for the sweep to give its credit back
    taken = await session.execute(
        update(IdempotencyKey)
        .where(
            IdempotencyKey.id == claim.id,
            IdempotencyKey.status == "in_progress",
            IdempotencyKey.created_at == claim.created_at,  # two retries racing: one takes it
        )
        .values(created_at=utc_now(), request_id=None)
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    return bool(taken.rowcount)  # type: ignore[attr-defined]
