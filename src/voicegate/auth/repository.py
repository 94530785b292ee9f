from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from voicegate.db.models import ApiKey, User


async def find_key_with_user(
    session: AsyncSession, *, prefix: str | None = None, key_id: str | None = None
) -> tuple[ApiKey, User] | None:
    statement = select(ApiKey, User).join(User, User.id == ApiKey.user_id)
    if prefix is not None:
        statement = statement.where(ApiKey.prefix == prefix)
    if key_id is not None:
        statement = statement.where(ApiKey.id == key_id)
    row = (await session.execute(statement)).first()
    return None if row is None else (row[0], row[1])


async def touch_key(session: AsyncSession, key_id: str, now: datetime) -> None:
    await session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now))
