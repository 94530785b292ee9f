"""`Idempotency-Key` on billed POSTs: a retry with the same key replays the stored response, never charges again.

The first request inserts `(user_id, key)` as in progress (a unique constraint, so exactly one of two racing
requests wins); the winner stores its response on success, or deletes the row on failure so the client may retry.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from voicegate.db.models import IdempotencyKey
from voicegate.errors import Conflict, Unprocessable

MAX_KEY_LENGTH = 255


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
        if existing.status != "completed" or existing.response_body is None:
            raise Conflict("A request with this Idempotency-Key is still in progress")
        return Outcome(json.loads(existing.response_body), replayed=True)
    try:
        body = await produce()
    except BaseException:
        await session.rollback()
        await session.execute(
            delete(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
        )
        await session.commit()
        raise
    row = await session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
    )
    if row is not None:
        row.status, row.response_status, row.response_body = "completed", 200, json.dumps(body)
        await session.commit()
    return Outcome(body, replayed=False)
