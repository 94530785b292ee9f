"""SQL over asset rows for retention: which rows are due, and the conditional transitions between
live -> soft-deleted (`deleted_at`) -> purged (`purged_at`), each of which only one caller can win."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from voicegate.db.models import ProviderResembleAsset as Asset
from voicegate.storage.retention import EXPIRING_CLASSES


async def get(session: AsyncSession, asset_id: str) -> Asset | None:
    return await session.get(Asset, asset_id)


async def by_key(session: AsyncSession, storage_key: str) -> Asset | None:
    return await session.scalar(select(Asset).where(Asset.storage_key == storage_key))


async def expired_ids(session: AsyncSession, *, backend: str, as_of: datetime, after_id: str, limit: int) -> list[str]:
    """Live rows of expiring classes on `backend` past `expires_at`, in id order after `after_id` (keyset pages,
    so an item that keeps failing never hides the rest)."""
    statement = (
        select(Asset.id)
        .where(
            Asset.storage_backend == backend,
            Asset.asset_class.in_([c.value for c in EXPIRING_CLASSES]),
            Asset.expires_at <= as_of,
            Asset.deleted_at.is_(None),
            Asset.id > after_id,
        )
        .order_by(Asset.id)
        .limit(limit)
    )
    return list((await session.scalars(statement)).all())


async def purgeable_ids(
    session: AsyncSession, *, backend: str, deleted_before: datetime, after_id: str, limit: int
) -> list[str]:
    """Soft-deleted, not yet purged rows on `backend` deleted at or before `deleted_before`, in id order."""
    statement = (
        select(Asset.id)
        .where(
            Asset.storage_backend == backend,
            Asset.deleted_at <= deleted_before,
            Asset.purged_at.is_(None),
            Asset.id > after_id,
        )
        .order_by(Asset.id)
        .limit(limit)
    )
    return list((await session.scalars(statement)).all())


async def mark_deleted(session: AsyncSession, asset_id: str, at: datetime) -> bool:
    """live -> soft-deleted; False when the row is not live any more (another run marked it)."""
    result = await session.execute(
        update(Asset).where(Asset.id == asset_id, Asset.deleted_at.is_(None)).values(deleted_at=at)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def mark_purged(session: AsyncSession, asset_id: str, at: datetime) -> bool:
    """soft-deleted -> purged; False when the row was restored or purged meanwhile."""
    result = await session.execute(
        update(Asset)
        .where(Asset.id == asset_id, Asset.deleted_at.is_not(None), Asset.purged_at.is_(None))
        .values(purged_at=at)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def mark_restored(session: AsyncSession, asset_id: str, expires_at: datetime | None) -> bool:
    """soft-deleted -> live again with a fresh expiry; False when the row was purged or restored meanwhile."""
    result = await session.execute(
        update(Asset)
        .where(Asset.id == asset_id, Asset.deleted_at.is_not(None), Asset.purged_at.is_(None))
        .values(deleted_at=None, expires_at=expires_at)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
