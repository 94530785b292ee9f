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
from voicegate.kit.ids import new_id
from voicegate.kit.time import utc_now
from voicegate.storage import keys, retention
from voicegate.storage.base import StorageBackend, StorageError
from voicegate.storage.retention import AssetClass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AssetLink:
    asset: ProviderResembleAsset
    url: str
    url_expires_at: datetime


async def presign(storage: StorageBackend, asset: ProviderResembleAsset, ttl: timedelta) -> AssetLink:
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
    conflict_on = [ProviderResembleAsset.job_id] if job_id is not None else [ProviderResembleAsset.request_id]
    if await insert_or_ignore(session, ProviderResembleAsset, values, conflict_on):
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
