"""SQL for users' own provider keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from voicegate.db.models import UserProviderKey


async def get(session: AsyncSession, user_id: str, provider: str) -> UserProviderKey | None:
    found: UserProviderKey | None = await session.scalar(
        select(UserProviderKey).where(UserProviderKey.user_id == user_id, UserProviderKey.provider == provider)
    )
    return found


async def put(
    session: AsyncSession,
    *,
    user_id: str,
    provider: str,
    ciphertext: bytes,
    nonce: bytes,
    last4: str,
    fingerprint: str,
    now: datetime,
) -> tuple[UserProviderKey, str | None]:
    """Store the user's key for `provider`, replacing any earlier one (only flushes). Returns the row and the
    fingerprint of the key it replaced, if any."""
    row = await get(session, user_id, provider)
    replaced = row.fingerprint if row is not None else None
    if row is None:
        row = UserProviderKey(user_id=user_id, provider=provider, created_at=now)
        session.add(row)
    else:
        row.created_at = now  # a new key: its age starts now
    row.ciphertext, row.nonce, row.last4, row.fingerprint = ciphertext, nonce, last4, fingerprint
    row.validated_at, row.updated_at = now, now
    await session.flush()
    return row, replaced


async def remove(session: AsyncSession, user_id: str, provider: str) -> str | None:
    """Delete the user's key for `provider` (only flushes); the fingerprint of what was removed, or None."""
    fingerprint: str | None = await session.scalar(
        delete(UserProviderKey)
        .where(UserProviderKey.user_id == user_id, UserProviderKey.provider == provider)
        .returning(UserProviderKey.fingerprint)
    )
    return fingerprint
