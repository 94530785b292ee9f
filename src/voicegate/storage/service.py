"""Mirroring media into storage and handing out links to it, with one asset row per stored object."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import anyio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from voicegate import metrics
from voicegate.db.models import ProviderResembleAsset
from voicegate.db.upsert import insert_or_ignore
from voicegate.errors import Conflict, Gone, NotFound, StorageUnavailable
from voicegate.kit.ids import new_id
from voicegate.kit.time import isoformat_z, utc_now
from voicegate.storage import keys, repository, retention
from voicegate.storage.base import InvalidKey, ObjectMissing, StorageBackend, StorageError, check_key
from voicegate.storage.retention import AssetClass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AssetLink:
    asset: ProviderResembleAsset
    url: str
    url_expires_at: datetime


class AssetExpired(Gone):
    def __init__(self, asset: ProviderResembleAsset) -> None:
        when = f" on {isoformat_z(asset.expires_at)}" if asset.expires_at else ""
        super().__init__(f"This media expired{when} and was deleted under the retention policy")


def is_expired(asset: ProviderResembleAsset) -> bool:
    """Retention moved the object away: its URL is never issued again (unless support restores it)."""
    return asset.deleted_at is not None


async def presign(storage: StorageBackend, asset: ProviderResembleAsset, ttl: timedelta) -> AssetLink:
    """A fresh download link; AssetExpired (410) for an asset retention has deleted."""
    if is_expired(asset):
        raise AssetExpired(asset)
    url = await storage.presigned_url(asset.storage_key, ttl, filename=asset.file_name)
    return AssetLink(asset=asset, url=url, url_expires_at=utc_now() + ttl)


async def put_asset(
    storage: StorageBackend,
    *,
    user_id: str,
    request_id: str,
    asset_class: AssetClass,
    data: bytes,
    ext: str,
    content_type: str,
    job_id: str | None = None,
    stamped_at: datetime | None = None,
) -> ProviderResembleAsset | None:
    """Store `data` and return its asset row, not yet added to any session. Returns None, after logging and
    counting, if storage fails: the caller still has the bytes to hand back, so a paid-for result is never lost
    to a storage outage.

    With `stamped_at` fixed by the caller the key is deterministic, so racing mirrors of the same result write the
    same object."""
    now = utc_now()
    key = keys.object_key(asset_class, user_id, request_id, ext, stamped_at or now)
    try:
        size = await storage.put_bytes(key, data, content_type)
    except (StorageError, OSError) as exc:
        metrics.storage_failures.labels("put").inc()
        log.error("storage_put_failed", extra={"provider_request_id": request_id, "error": type(exc).__name__})
        return None
    return ProviderResembleAsset(
        id=new_id(),
        user_id=user_id,
        request_id=request_id if job_id is None else None,
        job_id=job_id,
        asset_class=asset_class.value,
        storage_backend=storage.name,
        storage_key=key,
        content_type=content_type,
        file_name=key.rsplit("/", 1)[-1],
        size_bytes=size,
        expires_at=retention.expires_at(asset_class, now),
        created_at=now,
    )


async def mirror_bytes(
    session: AsyncSession,
    storage: StorageBackend,
    *,
    user_id: str,
    request_id: str,
    asset_class: AssetClass,
    data: bytes,
    ext: str,
    content_type: str,
    job_id: str | None = None,
    stamped_at: datetime | None = None,
) -> ProviderResembleAsset | None:
    """`put_asset`, then record the row and commit; racing mirrors of one result keep a single row and object."""
    asset = await put_asset(
        storage,
        user_id=user_id,
        request_id=request_id,
        asset_class=asset_class,
        data=data,
        ext=ext,
        content_type=content_type,
        job_id=job_id,
        stamped_at=stamped_at,
    )
    if asset is None:
        return None
    values = {column.key: getattr(asset, column.key) for column in ProviderResembleAsset.__table__.columns}
    # Racing mirrors of one result compute the same storage key, so on PostgreSQL the loser may meet the storage
    # key's unique index before the job's or request's: any unique index settles the race.
    if await insert_or_ignore(session, ProviderResembleAsset, values, None):
        await session.commit()
        return asset
    existing = await find_for_request(session, user_id=user_id, request_id=request_id, job_id=job_id)
    await session.commit()
    if existing is None or existing.storage_key != asset.storage_key:
        # Someone mirrored the same result first under another key: keep theirs, drop our copy.
        await delete_quietly(storage, asset.storage_key)
    return existing


async def find_for_request(
    session: AsyncSession, *, user_id: str, request_id: str | None = None, job_id: str | None = None
) -> ProviderResembleAsset | None:
    statement = select(ProviderResembleAsset).where(ProviderResembleAsset.user_id == user_id)
    if job_id is not None:
        statement = statement.where(ProviderResembleAsset.job_id == job_id)
    else:
        statement = statement.where(ProviderResembleAsset.request_id == request_id)
    return (await session.scalars(statement)).first()


async def delete_quietly(storage: StorageBackend, key: str) -> None:
    """Remove an object nothing records any more; shielded, so a cancelled request still cleans up. A failure is
    logged: the prefix's lifecycle rule is the backstop (permanent prefixes have none)."""
    with anyio.CancelScope(shield=True):
        try:
            await storage.delete(key)
        except (StorageError, OSError):
            log.warning("storage_delete_failed", extra={"key": key})


async def key_has_expired(session: AsyncSession, key: str) -> bool:
    """Whether `key` names an asset retention has deleted (a download of it answers 410, not 404)."""
    asset = await repository.by_key(session, key)
    return asset is not None and is_expired(asset)


@dataclass(frozen=True)
class Restored:
    asset_id: str
    key: str
    expires_at: datetime | None


async def restore(session: AsyncSession, storage: StorageBackend, key: str) -> Restored:
    """Bring a soft-deleted asset back from `_deleted/` (by its live or its `_deleted/` key) with a fresh expiry
    of now + its class's TTL, as if stored today. 404 unknown key, 409 not deleted (or on another backend),
    410 already purged; safe to repeat after a crash between the move and the row update."""
    live = retention.original_key(key)
    try:
        check_key(live)
    except InvalidKey:
        raise NotFound("No stored asset has this key") from None
    asset = await repository.by_key(session, live)
    if asset is None:
        raise NotFound("No stored asset has this key")
    if asset.purged_at is not None:
        raise Gone(f"This asset was deleted for good on {isoformat_z(asset.purged_at)}")
    if asset.deleted_at is None:
        raise Conflict("This asset is not deleted")
    if asset.storage_backend != storage.name:
        raise Conflict(f"This asset is stored on the {asset.storage_backend} backend, not {storage.name}")
    asset_id, asset_class = asset.id, retention.AssetClass(asset.asset_class)
    await session.commit()  # no transaction held over the storage call
    try:
        await _move_back(storage, live)
    except (StorageError, OSError) as exc:
        metrics.storage_failures.labels("restore").inc()
        raise StorageUnavailable() from exc
    expires = retention.expires_at(asset_class, utc_now())
    if not await repository.mark_restored(session, asset_id, expires):
        raise Conflict("This asset changed while it was being restored; try again")
    await session.commit()
    log.info("storage_asset_restored", extra={"asset_id": asset_id})
    return Restored(asset_id=asset_id, key=live, expires_at=expires)


async def _move_back(storage: StorageBackend, live: str) -> None:
    try:
        await storage.move(retention.deleted_key(live), live)
    except ObjectMissing:
        if not await storage.exists(live):  # else: moved back by a restore that stopped before the update
            raise Gone("This asset is no longer in storage") from None
