"""Turning a user's media URL into what Resemble needs, with ownership checks and SSRF guards.

- A URL this gateway issued (an upload, a TTS output, a job output) is resolved to the stored object, after
  checking the caller owns it (someone else's -> 404), and sent from storage: as bytes where Resemble takes a file,
  as a fresh presigned URL where it takes a URL.
- Any other URL is passed to Resemble where it accepts a URL, or fetched by the gateway behind the SSRF guard.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from voicegate.config import Settings
from voicegate.errors import UnsupportedMedia
from voicegate.kit import media, netguard
from voicegate.resemble import media as owned_media
from voicegate.resemble.jobs.kinds import JobKind
from voicegate.storage.base import StorageBackend
from voicegate.upstream.jobs import Media


@dataclass(frozen=True)
class PreparedInput:
    media: Media
    asset_id: str | None
    seconds: Decimal | None
    kind: str | None  # audio | video | image, when known


async def prepare(
    *,
    session: AsyncSession,
    storage: StorageBackend,
    outbound: httpx.AsyncClient,
    settings: Settings,
    user_id: str,
    kind: JobKind,
    url: str,
) -> PreparedInput:
    asset = await owned_media.resolve_owned_media(session, storage, settings, user_id, url)
    must_read = kind.needs_bytes or kind.measure_input
    if asset is not None:
        if not must_read:
            link = await storage.presigned_url(
                asset.storage_key, timedelta(seconds=settings.presign_ttl_s), filename=asset.file_name
            )
            return PreparedInput(Media(url=link), asset.id, None, _kind_of_mime(asset.content_type))
        data = await owned_media.read_asset_bytes(storage, asset, settings.media_fetch_max_bytes)
        return _from_bytes(
            data,
            asset.file_name,
            asset.id,
            url=None if kind.needs_bytes else await _presign(storage, asset.storage_key, settings),
        )
    await netguard.check_public_url(url, allow_private=settings.outbound_allow_private_networks, field="audio_url")
    if not must_read:
        return PreparedInput(Media(url=url), None, None, None)
    name, data = await owned_media.fetch_outside(outbound, settings, url, field="audio_url", default_name="media")
    return _from_bytes(data, name, None, url=None if kind.needs_bytes else url)


async def _presign(storage: StorageBackend, key: str, settings: Settings) -> str:
    return await storage.presigned_url(key, timedelta(seconds=settings.presign_ttl_s))


def _from_bytes(data: bytes, name: str | None, asset_id: str | None, *, url: str | None) -> PreparedInput:
    sniffed = media.sniff(data[:64])
    if sniffed is None:
        raise UnsupportedMedia()
    filename = name or f"media.{sniffed.extension}"
    seconds = media.measure_seconds(data) if sniffed.kind != "image" else None
    payload = Media(url=url) if url else Media(data=data, filename=filename, content_type=sniffed.mime)
    return PreparedInput(payload, asset_id, seconds, sniffed.kind)


def _kind_of_mime(mime: str | None) -> str | None:
    prefix = (mime or "").split("/", 1)[0]
    return prefix if prefix in ("audio", "video", "image") else None
