"""Recognising media URLs this gateway issued, so a capability can read the caller's own file from storage
instead of fetching it over HTTP, and refuse another user's.

A URL is "ours" when it points at a place the gateway hands out links for: the local backend's
`{PUBLIC_BASE_URL}/files/{key}` route, or the configured R2/S3 bucket on its endpoint (path style
`endpoint/bucket/key` or virtual-host style `bucket.endpoint/key`, on the internal or the public R2 endpoint, or
AWS's own S3 hosts when no endpoint is set). The signature and expiry of such a URL do not matter here: the
stored object is found by key, and ownership decides.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import SplitResult, unquote, urlsplit

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from voicegate.config import Settings
from voicegate.db.models import ProviderResembleAsset
from voicegate.errors import NotFound, PayloadTooLarge, StorageUnavailable
from voicegate.kit import netguard
from voicegate.storage import service as storage_service
from voicegate.storage.base import InvalidKey, ObjectMissing, ObjectStream, StorageBackend, StorageError, check_key

MEDIA_NOT_FOUND = "Media not found"
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class _Origin:
    host: str
    port: int | None

    @classmethod
    def of(cls, parts: SplitResult) -> _Origin | None:
        if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
            return None
        try:
            port = parts.port or _DEFAULT_PORTS[parts.scheme]
        except ValueError:  # a port that is not a number
            return None
        return cls(parts.hostname.lower().rstrip("."), port)


@dataclass(frozen=True, slots=True)
class _BucketEndpoint:
    """One host:port serving `bucket`, path style (`/bucket/key`) or virtual-host style (`bucket.host/key`)."""

    origin: _Origin
    bucket: str

    def key_in(self, origin: _Origin, path: str) -> str | None:
        if origin == self.origin:
            bucket, _, key = path.lstrip("/").partition("/")
            return key if bucket == self.bucket else None
        if origin == _Origin(f"{self.bucket}.{self.origin.host}".lower(), self.origin.port):
            return path.lstrip("/")
        return None


def _bucket_endpoints(settings: Settings) -> Iterator[_BucketEndpoint]:
    """Every bucket location the configured backends hand out URLs for (all of them, so links issued before a
    STORAGE_BACKEND switch are still recognised)."""
    if settings.r2_bucket:
        for url in (settings.r2_endpoint_url, settings.r2_public_endpoint_url):
            origin = _Origin.of(urlsplit(url)) if url else None
            if origin is not None:
                yield _BucketEndpoint(origin, settings.r2_bucket)
    if settings.s3_bucket:
        if settings.s3_endpoint_url:
            origin = _Origin.of(urlsplit(settings.s3_endpoint_url))
            if origin is not None:
                yield _BucketEndpoint(origin, settings.s3_bucket)
            return
        for host in ("s3.amazonaws.com", f"s3.{settings.s3_region}.amazonaws.com"):
            yield _BucketEndpoint(_Origin(host, 443), settings.s3_bucket)


def _local_key(settings: Settings, origin: _Origin, path: str) -> str | None:
    base = urlsplit(settings.public_base_url.rstrip("/"))
    prefix = f"{unquote(base.path)}/files/"
    if origin != _Origin.of(base) or not path.startswith(prefix):
        return None
    return path[len(prefix) :]


def storage_key_of(settings: Settings, url: str) -> str | None:
    """The storage key `url` points at when it is a URL this gateway issued (URL-decoded), else None.

    A URL of ours with an empty key yields "" (ours, but names nothing).
    """
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    origin = _Origin.of(parts)
    if origin is None:
        return None
    # Decoded before matching: `/files/a%2Fb.wav` and `/%66iles/a/b.wav` name the same object as `/files/a/b.wav`.
    path = unquote(parts.path)
    key = _local_key(settings, origin, path)
    if key is None:
        key = next((k for e in _bucket_endpoints(settings) if (k := e.key_in(origin, path)) is not None), None)
    return key


async def resolve_owned_media(
    session: AsyncSession, storage: StorageBackend, settings: Settings, user_id: str, url: str
) -> ProviderResembleAsset | None:
    """The caller's live asset behind `url`; None when `url` is not one of ours (treat it as a foreign URL).

    Raises NotFound("Media not found") when the URL is ours but names nothing the caller owns: a missing object
    and another user's object are answered alike, so nothing is revealed about other users. The caller's own
    asset that retention deleted is a 410 (AssetExpired), raised before anything is held or charged.
    `storage` is the backend the asset will be read from; a row stored on another backend counts as missing.
    """
    key = storage_key_of(settings, url)
    if key is None:
        return None
    try:
        check_key(key)
    except InvalidKey:
        raise NotFound(MEDIA_NOT_FOUND) from None
    asset = await session.scalar(
        select(ProviderResembleAsset).where(
            ProviderResembleAsset.storage_key == key, ProviderResembleAsset.user_id == user_id
        )
    )
    if asset is None or asset.storage_backend != storage.name:
        raise NotFound(MEDIA_NOT_FOUND)
    if storage_service.is_expired(asset):
        raise storage_service.AssetExpired(asset)
    return asset


async def open_asset_stream(storage: StorageBackend, asset: ProviderResembleAsset) -> ObjectStream:
    """The asset's bytes as a stream (the caller must `aclose()` it); NotFound when the object is gone."""
    try:
        return await storage.open_stream(asset.storage_key)
    except ObjectMissing:
        raise NotFound(MEDIA_NOT_FOUND) from None
    except (StorageError, OSError) as exc:
        raise StorageUnavailable() from exc


async def read_asset_bytes(storage: StorageBackend, asset: ProviderResembleAsset, max_bytes: int) -> bytes:
    """The whole asset in memory, refused with 413 past `max_bytes` (checked before reading when the size is
    known); NotFound when the object is gone, 502 when storage fails."""
    if asset.size_bytes > max_bytes:
        raise PayloadTooLarge(f"Media is larger than {max_bytes} bytes")
    stream = await open_asset_stream(storage, asset)
    data = bytearray()
    try:
        async for chunk in stream:
            data += chunk
            if len(data) > max_bytes:
                raise PayloadTooLarge(f"Media is larger than {max_bytes} bytes")
    except (StorageError, OSError) as exc:
        raise StorageUnavailable() from exc
    finally:
        await stream.aclose()
    return bytes(data)


async def fetch_outside(
    outbound: httpx.AsyncClient, settings: Settings, url: str, *, field: str, default_name: str
) -> tuple[str, bytes]:
    """A URL the gateway did not issue, fetched behind the SSRF guard within the media size and time caps; returns
    the file name its path suggests (or `default_name`) and the bytes."""
    _, data = await netguard.guarded_request(
        outbound,
        "GET",
        url,
        allow_private=settings.outbound_allow_private_networks,
        max_bytes=settings.media_fetch_max_bytes,
        timeout_s=settings.media_fetch_timeout_s,
        field=field,
    )
    return url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or default_name, data
