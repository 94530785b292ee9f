"""Retention that deletes: expiry moves objects past `expires_at` to `_deleted/`, purge removes them for good
after the soft-delete window.

Both are driven by the asset rows and are safe to run twice, concurrently or after a crash: the object is moved
first and the row marked after, with a conditional update; a run that finds the source gone but its `_deleted/`
copy present knows an earlier run moved it and only marks the row. Each item has its own sessions, and no
transaction is held open over a storage call; one item's failure is logged and counted, and the run goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voicegate import metrics
from voicegate.db.models import ProviderResembleAsset
from voicegate.errors import log_item_failure
from voicegate.kit.time import utc_now
from voicegate.resources import Resources
from voicegate.storage import repository
from voicegate.storage.base import ObjectMissing, StorageBackend
from voicegate.storage.retention import SOFT_DELETE_WINDOW, deleted_key, is_permanent, is_permanent_key

log = logging.getLogger(__name__)

BATCH_SIZE = 100
EXPIRE_EVERY_S = 15 * 60.0
PURGE_EVERY_S = 60 * 60.0

Sessions = async_sessionmaker[AsyncSession]


@dataclass
class RetentionReport:
    """What one run did. `missing`: rows whose object was already gone from storage (marked all the same)."""

    done: int = 0
    missing: int = 0
    failed: int = 0
    skipped: int = 0

    def as_dict(self, verb: str) -> dict[str, int]:
        return {verb: self.done, "missing": self.missing, "failed": self.failed, "skipped": self.skipped}


Page = Callable[[AsyncSession, str], Awaitable[list[str]]]
Item = Callable[[str], Awaitable[str]]


async def _sweep(sessions: Sessions, page: Page, item: Item, event: str, batch_size: int) -> RetentionReport:
    report = RetentionReport()
    after_id = ""
    while True:
        async with sessions() as session:
            ids = await page(session, after_id)
        for asset_id in ids:
            try:
                outcome = await item(asset_id)
            except Exception as exc:  # one object's failure never stops the run
                metrics.storage_failures.labels(event).inc()
                log_item_failure(log, f"storage_{event}_failed", exc, asset_id=asset_id)
                report.failed += 1
                continue
            setattr(report, outcome, getattr(report, outcome) + 1)
        if len(ids) < batch_size:
            return report
        after_id = ids[-1]


async def _key_if_due(sessions: Sessions, asset_id: str, due: Callable[[ProviderResembleAsset], bool]) -> str | None:
    """The asset's key when, re-read now, it is still `due` (and not under a permanent prefix, whatever its row
    says); the read's transaction ends before any storage call."""
    async with sessions() as session:
        asset = await repository.get(session, asset_id)
        if asset is None or not due(asset) or is_permanent_key(asset.storage_key):
            return None
        return asset.storage_key


async def expire(
    sessions: Sessions, storage: StorageBackend, as_of: datetime | None = None, batch_size: int = BATCH_SIZE
) -> RetentionReport:
    """Move every object past its `expires_at` (as of `as_of`, default now) to `_deleted/` and mark its row."""
    moment = as_of or utc_now()

    async def page(session: AsyncSession, after_id: str) -> list[str]:
        return await repository.expired_ids(
            session, backend=storage.name, as_of=moment, after_id=after_id, limit=batch_size
        )

    def due(asset: ProviderResembleAsset) -> bool:
        return (
            asset.deleted_at is None
            and asset.expires_at is not None
            and asset.expires_at <= moment
            and not is_permanent(asset.asset_class)
        )

    async def one(asset_id: str) -> str:
        key = await _key_if_due(sessions, asset_id, due)
        if key is None:
            return "skipped"
        outcome = "done"
        try:
            await storage.move(key, deleted_key(key))
        except ObjectMissing:
            # Moved by a run that stopped before marking, or gone altogether: either way it is no longer live.
            outcome = "done" if await storage.exists(deleted_key(key)) else "missing"
        async with sessions() as session:
            marked = await repository.mark_deleted(session, asset_id, moment)
            await session.commit()
        if marked:
            log.info("storage_asset_expired", extra={"asset_id": asset_id, "outcome": outcome})
        return outcome if marked else "skipped"

    return await _sweep(sessions, page, one, "expire", batch_size)


async def purge(
    sessions: Sessions, storage: StorageBackend, as_of: datetime | None = None, batch_size: int = BATCH_SIZE
) -> RetentionReport:
    """Delete for good every `_deleted/` object whose row was soft-deleted more than the window before `as_of`."""
    moment = as_of or utc_now()
    cutoff = moment - SOFT_DELETE_WINDOW

    async def page(session: AsyncSession, after_id: str) -> list[str]:
        return await repository.purgeable_ids(
            session, backend=storage.name, deleted_before=cutoff, after_id=after_id, limit=batch_size
        )

    def due(asset: ProviderResembleAsset) -> bool:
        return asset.purged_at is None and asset.deleted_at is not None and asset.deleted_at <= cutoff

    async def one(asset_id: str) -> str:
        key = await _key_if_due(sessions, asset_id, due)
        if key is None:
            return "skipped"
        # The live key too: a restore that moved the object back but stopped before clearing the mark left it there.
        await storage.delete(deleted_key(key))
        await storage.delete(key)
        async with sessions() as session:
            marked = await repository.mark_purged(session, asset_id, moment)
            await session.commit()
        if marked:
            log.info("storage_asset_purged", extra={"asset_id": asset_id})
        return "done" if marked else "skipped"

    return await _sweep(sessions, page, one, "purge", batch_size)


async def expire_assets(resources: Resources, as_of: datetime | None = None) -> RetentionReport:
    return await expire(resources.sessionmaker, resources.storage, as_of)


async def purge_deleted(resources: Resources, as_of: datetime | None = None) -> RetentionReport:
    return await purge(resources.sessionmaker, resources.storage, as_of)
