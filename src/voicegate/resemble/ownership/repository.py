"""All SQL of the ownership table. Reads never return a deleted row; writes only flush."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from voicegate.db.models import ProviderResembleResource
from voicegate.kit.time import utc_now
from voicegate.resemble.ownership.kinds import Kind

Row = ProviderResembleResource


@dataclass(frozen=True)
class OwnedResource:
    """A row as plain values, safe to hand across the request (and to keep in a dependency's result)."""

    id: str
    kind: Kind
    upstream_id: str
    user_id: str
    parent: OwnedResource | None = None

    @property
    def parent_upstream_id(self) -> str | None:
        return self.parent.upstream_id if self.parent else None


def _plain(row: Row, parent: Row | None = None) -> OwnedResource:
    return OwnedResource(
        id=row.id,
        kind=Kind(row.kind),
        upstream_id=row.upstream_id,
        user_id=row.user_id,
        parent=_plain(parent) if parent is not None else None,
    )


async def find(session: AsyncSession, kind: Kind, upstream_id: str, user_id: str) -> OwnedResource | None:
    """The caller's live row for `(kind, upstream_id)`, with its parent; None for unknown, foreign or deleted."""
    parent = aliased(Row)
    found = (
        await session.execute(
            select(Row, parent)
            .outerjoin(parent, Row.parent_id == parent.id)
            .where(
                Row.kind == kind.value,
                Row.upstream_id == upstream_id,
                Row.user_id == user_id,
                Row.deleted_at.is_(None),
                or_(Row.parent_id.is_(None), parent.deleted_at.is_(None)),
            )
        )
    ).first()
    return _plain(found[0], found[1]) if found else None


async def owner_of(session: AsyncSession, kind: Kind, upstream_id: str) -> OwnedResource | None:
    """Whoever holds the live row for `(kind, upstream_id)`, if anyone (one lookup on the unique index)."""
    row = await session.scalar(
        select(Row).where(Row.kind == kind.value, Row.upstream_id == upstream_id, Row.deleted_at.is_(None))
    )
    return _plain(row) if row is not None else None


async def live_of_kind(session: AsyncSession, kind: Kind) -> list[OwnedResource]:
    """Every user's live rows of a top-level `kind`, oldest first (for lists that must hide others' objects)."""
    query = select(Row).where(Row.kind == kind.value, Row.deleted_at.is_(None)).order_by(Row.created_at, Row.id)
    return [_plain(row) for row in (await session.scalars(query)).all()]


async def live_of_user(session: AsyncSession, kind: Kind, user_id: str) -> list[OwnedResource]:
    """Every live row of `kind` the user holds, with its parent, whatever state the parent is in (erasure)."""
    parent = aliased(Row)
    query = (
        select(Row, parent)
        .outerjoin(parent, Row.parent_id == parent.id)
        .where(Row.kind == kind.value, Row.user_id == user_id, Row.deleted_at.is_(None))
        .order_by(Row.created_at, Row.id)
    )
    return [_plain(row, parent_row) for row, parent_row in (await session.execute(query)).all()]


def _live(kind: Kind, user_id: str, parent_id: str | None) -> Select[Row, Row]:
    parent = aliased(Row)
    query = select(Row, parent).outerjoin(parent, Row.parent_id == parent.id)
    query = query.where(Row.kind == kind.value, Row.user_id == user_id, Row.deleted_at.is_(None))
    query = query.where(or_(Row.parent_id.is_(None), parent.deleted_at.is_(None)))
    if parent_id is not None:
        query = query.where(Row.parent_id == parent_id)
    return query


async def page(
    session: AsyncSession, kind: Kind, user_id: str, *, parent_id: str | None, offset: int, limit: int
) -> list[OwnedResource]:
    """The caller's live rows of `kind`, oldest first (a stable order, so pages do not shift under new creates)."""
    query = _live(kind, user_id, parent_id).order_by(Row.created_at, Row.id).offset(offset).limit(limit)
    return [_plain(row, parent) for row, parent in (await session.execute(query)).all()]


async def count(session: AsyncSession, kind: Kind, user_id: str, *, parent_id: str | None) -> int:
    subquery = _live(kind, user_id, parent_id).subquery()
    return int(await session.scalar(select(func.count()).select_from(subquery)) or 0)


def add(session: AsyncSession, kind: Kind, upstream_id: str, user_id: str, parent_id: str | None) -> Row:
    row = Row(kind=kind.value, upstream_id=upstream_id, user_id=user_id, parent_id=parent_id)
    session.add(row)
    return row


async def mark_deleted(session: AsyncSession, resource_id: str) -> None:
    """Retire a row and its children's rows (clips of a project, tools and webhooks of an agent)."""
    await session.execute(
        update(Row)
        .where(or_(Row.id == resource_id, Row.parent_id == resource_id), Row.deleted_at.is_(None))
        .values(deleted_at=utc_now())
    )


async def is_recorded(session: AsyncSession, kind: Kind, upstream_id: str) -> bool:
    """Whether any row (anyone's, live or retired) records this upstream object."""
    found = await session.scalar(select(Row.id).where(Row.kind == kind.value, Row.upstream_id == upstream_id))
    return found is not None
