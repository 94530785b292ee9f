"""Uploads: a user's file streamed from the request body straight into storage, under the prefix (and so the
retention) its `purpose` selects, with one asset row per upload.

The body is parsed as it arrives and the file part's chunks go to `StorageBackend.put_stream`, so memory stays at
a network chunk (plus the S3 backend's one 8 MiB part) whatever the file's size. The type is judged on the
file's first bytes, never its name.

`purpose` may come before or after the file in the body. Before (the SDK's order, since `requests` writes data
fields ahead of files): the file is written under its final key directly. After (curl's `-F file=@x -F purpose=y`
order): the file is written under the purpose known so far (generic `uploads/`), and when the later purpose
selects another class the object is moved, streamed from storage to storage, before anything is recorded.
"""

from __future__ import annotations

import contextlib
import logging
import posixpath
import unicodedata
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from voicegate import metrics
from voicegate.db.models import ProviderResembleAsset
from voicegate.errors import NotFound, PayloadTooLarge, StorageUnavailable, Unprocessable, UnsupportedMedia
from voicegate.kit import media
from voicegate.kit.ids import new_id
from voicegate.kit.time import isoformat_z, utc_now
from voicegate.resemble.uploads.multipart import MultipartReader, Part
from voicegate.storage import keys, retention
from voicegate.storage import service as storage_service
from voicegate.storage.base import StorageBackend, StorageError, StorageTooLarge
from voicegate.storage.retention import AssetClass

log = logging.getLogger(__name__)

PURPOSES: Mapping[str, AssetClass] = MappingProxyType(
    {
        "voice_clone": AssetClass.VOICE_RECORDINGS,
        "stt_input": AssetClass.STT_INPUT,
        "watermark_input": AssetClass.WATERMARK,
        "audio_job_input": AssetClass.AUDIO_JOBS,
    }
)
DEFAULT_CLASS = AssetClass.UPLOADS
# Room for the multipart envelope (boundaries, part headers, the purpose field) on top of the file itself.
ENVELOPE_ALLOWANCE = 64 * 1024
MAX_PURPOSE_BYTES = 64
MAX_FILE_NAME_CHARS = 255


@dataclass(frozen=True)
class UploadDeps:
    session: AsyncSession
    storage: StorageBackend
    max_bytes: int
    presign_ttl: timedelta


@dataclass(frozen=True)
class UploadBody:
    chunks: AsyncIterator[bytes]
    content_type: str | None
    content_length: str | None


@dataclass(frozen=True)
class _Stored:
    upload_id: str
    key: str
    asset_class: AssetClass
    media_type: media.MediaType
    size: int
    file_name: str
    stored_at: datetime


def asset_class_for(purpose: str | None) -> AssetClass:
    """The asset class a `purpose` selects (absent or empty: generic uploads); 422 naming the allowed values."""
    if not purpose:
        return DEFAULT_CLASS
    try:
        return PURPOSES[purpose]
    except KeyError:
        allowed = ", ".join(PURPOSES)
        raise Unprocessable(f"Unknown purpose {purpose!r}; allowed: {allowed} (or none for a generic upload)") from None


def sanitize_file_name(name: str | None, extension: str) -> str:
    """The client's file name without directories or control characters, at most 255 characters, keeping its
    extension; `upload.{extension}` when nothing usable is left."""
    base = posixpath.basename((name or "").replace("\\", "/"))
    base = "".join(c for c in unicodedata.normalize("NFC", base) if unicodedata.category(c)[0] != "C").strip()
    if base in ("", ".", ".."):
        return f"upload.{extension}"
    if len(base) > MAX_FILE_NAME_CHARS:
        stem, dot, ext = base.rpartition(".")
        keep = dot + ext if dot and stem and len(ext) < 16 else ""
        base = base[: MAX_FILE_NAME_CHARS - len(keep)] + keep
    return base


def check_declared_length(content_length: str | None, max_bytes: int) -> None:
    """413 before reading anything when the declared body is larger than the file limit plus the envelope."""
    declared = content_length or ""
    if declared.isascii() and declared.isdigit() and int(declared) > max_bytes + ENVELOPE_ALLOWANCE:
        raise PayloadTooLarge(f"Upload exceeds the limit of {max_bytes} bytes")


async def _head(chunks: AsyncIterator[bytes]) -> bytes:
    """At least SNIFF_BYTES of the file (less only when the file is shorter)."""
    head = b""
    async for chunk in chunks:
        head += chunk
        if len(head) >= media.SNIFF_BYTES:
            break
    return head


async def _prepend(head: bytes, rest: AsyncIterator[bytes]) -> AsyncGenerator[bytes, None]:
    yield head
    async for chunk in rest:
        yield chunk


@contextlib.contextmanager
def _storage_errors(operation: str, max_bytes: int) -> Iterator[None]:
    try:
        yield
    except StorageTooLarge:
        raise PayloadTooLarge(f"Upload exceeds the limit of {max_bytes} bytes") from None
    except (StorageError, OSError) as exc:
        metrics.storage_failures.labels(operation).inc()
        log.error("upload_storage_failed", extra={"operation": operation, "error": type(exc).__name__})
        raise StorageUnavailable() from exc


async def _store_file(deps: UploadDeps, user_id: str, part: Part, asset_class: AssetClass) -> _Stored:
    chunks = part.chunks()
    async with contextlib.aclosing(chunks):
        head = await _head(chunks)
        if not head:
            raise Unprocessable("The uploaded file is empty")
        sniffed = media.sniff(head)
        if sniffed is None:
            raise UnsupportedMedia()
        upload_id, now = new_id(), utc_now()
        key = keys.object_key(asset_class, user_id, upload_id, sniffed.extension, now)
        body = _prepend(head, chunks)
        async with contextlib.aclosing(body):
            with _storage_errors("put", deps.max_bytes):
                size = await deps.storage.put_stream(key, body, sniffed.mime, deps.max_bytes)
    file_name = sanitize_file_name(part.filename, sniffed.extension)
    return _Stored(upload_id, key, asset_class, sniffed, size, file_name, now)


async def _move(deps: UploadDeps, user_id: str, stored: _Stored, asset_class: AssetClass) -> _Stored:
    """Re-key a stored upload under another class's prefix (same id and timestamp), streaming storage to
    storage; the protocol has no server-side copy, and this runs only when `purpose` followed the file."""
    key = keys.object_key(asset_class, user_id, stored.upload_id, stored.media_type.extension, stored.stored_at)
    with _storage_errors("move", deps.max_bytes):
        source = await deps.storage.open_stream(stored.key)
        try:
            await deps.storage.put_stream(key, source, stored.media_type.mime)
        finally:
            await source.aclose()
    await storage_service.delete_quietly(deps.storage, stored.key)
    return replace(stored, key=key, asset_class=asset_class)


async def _receive(deps: UploadDeps, user_id: str, form: MultipartReader) -> _Stored:
    """Read the form to its end, storing the file part; on any failure nothing is left in storage."""
    purpose: str | None = None
    stored: _Stored | None = None
    try:
        async for part in form:
            if part.name == "purpose":
                if purpose is not None:
                    raise Unprocessable("The form field 'purpose' was sent more than once")
                purpose = (await part.read_text(MAX_PURPOSE_BYTES)).strip()
                asset_class_for(purpose)  # refuse an unknown purpose as soon as it is read
            elif part.name == "file":
                if stored is not None:
                    raise Unprocessable("Send exactly one 'file' part")
                stored = await _store_file(deps, user_id, part, asset_class_for(purpose))
            else:
                await part.skip()
        if stored is None:
            raise Unprocessable("Missing the 'file' part of the multipart form")
        target = asset_class_for(purpose)
        if target is not stored.asset_class:
            stored = await _move(deps, user_id, stored, target)
        return stored
    except BaseException:
        if stored is not None:
            await storage_service.delete_quietly(deps.storage, stored.key)
        raise


async def create_upload(deps: UploadDeps, user_id: str, body: UploadBody) -> dict[str, Any]:
    """Store one uploaded file and record it; the response carries a presigned link to it.

    Errors: 413 past the size limit, 415 for content that is not allowed media, 422 for a malformed form, a
    missing or empty file or an unknown purpose, 502 when storage fails. None of them leaves a stored object or
    an asset row behind.
    """
    check_declared_length(body.content_length, deps.max_bytes)
    form = MultipartReader.open(body.content_type, body.chunks, deps.max_bytes + ENVELOPE_ALLOWANCE)
    stored = await _receive(deps, user_id, form)
    asset = ProviderResembleAsset(
        user_id=user_id,
        request_id=stored.upload_id,
        asset_class=stored.asset_class.value,
        storage_backend=deps.storage.name,
        storage_key=stored.key,
        content_type=stored.media_type.mime,
        file_name=stored.file_name,
        size_bytes=stored.size,
        expires_at=retention.expires_at(stored.asset_class, stored.stored_at),
        created_at=stored.stored_at,
    )
    try:
        with _storage_errors("presign", deps.max_bytes):
            link = await storage_service.presign(deps.storage, asset, deps.presign_ttl)
        deps.session.add(asset)
        await deps.session.commit()
    except BaseException:
        await storage_service.delete_quietly(deps.storage, stored.key)
        raise
    return _view(asset, link)


def _view(asset: ProviderResembleAsset, link: storage_service.AssetLink | None) -> dict[str, Any]:
    return {
        "asset_id": asset.id,
        "url": link.url if link else None,
        "url_expires_at": isoformat_z(link.url_expires_at) if link else None,
        "expires_at": None if asset.expires_at is None else isoformat_z(asset.expires_at),
        "asset_expired": storage_service.is_expired(asset),
        "asset_class": asset.asset_class,
        "size_bytes": asset.size_bytes,
        "file_name": asset.file_name,
        "extension": asset.storage_key.rsplit(".", 1)[-1],
        "file_type": asset.content_type,
    }


UPLOAD_CLASSES = frozenset({DEFAULT_CLASS.value, *(c.value for c in PURPOSES.values())})


async def get_upload(deps: UploadDeps, user_id: str, asset_id: str) -> dict[str, Any]:
    """One of the caller's uploads with a fresh link; once retention deleted it, `url` is null and
    `asset_expired` true. Another user's upload (or any asset that is not an upload) is a 404."""
    asset = await deps.session.get(ProviderResembleAsset, asset_id)
    if asset is None or asset.user_id != user_id or asset.job_id is not None or asset.asset_class not in UPLOAD_CLASSES:
        raise NotFound("Upload not found")
    if storage_service.is_expired(asset):
        return _view(asset, None)
    with _storage_errors("presign", deps.max_bytes):
        return _view(asset, await storage_service.presign(deps.storage, asset, deps.presign_ttl))
