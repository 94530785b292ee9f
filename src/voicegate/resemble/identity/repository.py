"""The identity rows' SQL: the caller's snapshots, and which of a search's matches the caller owns."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from voicegate.db.models import ProviderResembleResource
from voicegate.resemble.ownership.kinds import Kind

Row = ProviderResembleResource


def _live(user_id: str) -> tuple[ColumnElement[bool], ...]:
    return (Row.kind == Kind.IDENTITY.value, Row.user_id == user_id, Row.deleted_at.is_(None))


def _item(upstream_id: str, snapshot: dict[str, Any] | None) -> dict[str, Any]:
    return {**(snapshot or {}), "uuid": upstream_id}


async def snapshot(session: AsyncSession, resource_id: str) -> dict[str, Any]:
    found = (await session.execute(select(Row.upstream_id, Row.snapshot).where(Row.id == resource_id))).one()
    return _item(found.upstream_id, found.snapshot)


async def page(session: AsyncSession, user_id: str, *, offset: int, limit: int) -> list[dict[str, Any]]:
    """The caller's identities, oldest first (a stable order, so pages do not shift under new enrollments)."""
    query = select(Row.upstream_id, Row.snapshot).where(*_live(user_id)).order_by(Row.created_at, Row.id)
    rows = await session.execute(query.offset(offset).limit(limit))
    return [_item(row.upstream_id, row.snapshot) for row in rows]


async def owned_among(session: AsyncSession, user_id: str, upstream_ids: Collection[str]) -> set[str]:
    """Which of `upstream_ids` are the caller's live identities (one query)."""
    if not upstream_ids:
        return set()
    query = select(Row.upstream_id).where(*_live(user_id), Row.upstream_id.in_(list(upstream_ids)))
    return set((await session.scalars(query)).all())
