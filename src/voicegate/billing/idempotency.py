"""`Idempotency-Key` on billed POSTs: a retry with the same key replays the stored response, never charges again.

The first request inserts `(user_id, key)` as in progress (a unique constraint, so exactly one of two racing
requests wins); the winner stores its response on success, or deletes the row on failure so the client may retry.
The transaction that places the request's credit hold also links the claim to that request (`link_request`).

A response can carry a field too big for the record (a clip's base64 audio, ~1 MB, which the gateway has already
mirrored to storage): with `detached`, the record keeps the response without it, and a replay rebuilds it from the
stored copy. Writing and reading a megabyte of JSON on every keyed request costs more than the whole request
otherwise does; the copy is there anyway.

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
from voicegate.errors import Conflict, Gone, Unprocessable
from voicegate.kit.time import utc_now

MAX_KEY_LENGTH = 255
# No live request holds a claim this long: an upstream call is bounded by its read timeout times its retries (60 s x
# 3 by default), a media fetch by MEDIA_FETCH_TIMEOUT_S (30 s). An older claim in progress belongs to a request that
# died without settling it.
CLAIM_LEASE = timedelta(minutes=5)
CHARGED = ("succeeded", "submitted")
# The record's note of which fields a replay must rebuild (a name no response of ours uses).
DETACHED_MARK = "__detached__"


@dataclass(frozen=True)
class Detached:
    """A response field that is not kept in the idempotency record but rebuilt on replay.

    `applies(body)` says whether this response's field can be rebuilt later (its media was stored); when it cannot,
    the whole response is kept as before. `rebuild(body)` gets the recorded response (the field is null there) and
    returns the field's value, or None when the stored copy is gone: such a replay is refused with 410, never
    answered with different content."""

    field: str
    applies: Callable[[dict[str, Any]], bool]
    rebuild: Callable[[dict[str, Any]], Awaitable[Any | None]]


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
    detached: Detached | None = None,
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
            return Outcome(await _replayed(existing.response_body, detached), replayed=True)
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
        row.status, row.response_status, row.response_body = "completed", 200, _record(body, detached)
        await session.commit()
    return Outcome(body, replayed=False)


def _record(body: dict[str, Any], detached: Detached | None) -> str:
    if detached is None or detached.field not in body or not detached.applies(body):
        return json.dumps(body)
    return json.dumps({**body, detached.field: None, DETACHED_MARK: [detached.field]})


async def _replayed(record: str, detached: Detached | None) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(record)
    fields = body.pop(DETACHED_MARK, None)
    if not fields:
        return body
    value = await detached.rebuild(body) if detached is not None and fields == [detached.field] else None
    if detached is None or value is None:
        raise Gone(
            "The response to this Idempotency-Key included media that is no longer stored, so it cannot be "
            f"replayed; it was request {body.get('request_id')} in your usage and will not be charged again."
        )
    body[detached.field] = value
    return body


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
