"""`GET /files/{key}`: downloads for the local backend through URLs signed by `LocalBackend.presigned_url`.

S3-compatible backends hand out their own presigned URLs, so there the route answers 404; mount it with
`mount_files_router`, which only does so for the local backend. A link to an asset that retention has deleted
answers 410, even while its signature is still valid.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import StreamingResponse

from voicegate.deps import ResourcesDep, get_storage
from voicegate.errors import Forbidden, Gone, NotFound, described
from voicegate.kit.time import utc_now
from voicegate.storage import service as storage_service
from voicegate.storage.base import (
    InvalidKey,
    ObjectMissing,
    ObjectStream,
    StorageBackend,
    content_disposition,
)
from voicegate.storage.local import LocalBackend
from voicegate.storage.media_types import content_type_for

router = APIRouter(tags=["files"])

INVALID_SIGNATURE = "Invalid or expired signature"
EXPIRED = "This file expired and was deleted under the retention policy"
RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
    **described({403: INVALID_SIGNATURE, 404: "No such file, or storage is not local", 410: EXPIRED}),
}


ExpiredCheck = Callable[[str], Awaitable[bool]]


async def get_expired_check(resources: ResourcesDep) -> ExpiredCheck:
    """Whether a key names an asset retention deleted; asked only when the object is missing."""

    async def has_expired(key: str) -> bool:
        async with resources.sessionmaker() as session:
            return await storage_service.key_has_expired(session, key)

    return has_expired


async def _relay(stream: ObjectStream) -> AsyncIterator[bytes]:
    try:
        async for chunk in stream:
            yield chunk
    finally:
        await stream.aclose()


@router.get("/files/{key:path}", response_class=StreamingResponse, responses=RESPONSES)
async def download_file(
    key: str,
    expires: str | None = None,
    sig: str | None = None,
    filename: str | None = None,
    storage: StorageBackend = Depends(get_storage),
    has_expired: ExpiredCheck = Depends(get_expired_check),
) -> StreamingResponse:
    if not isinstance(storage, LocalBackend):
        raise NotFound()
    # Missing or malformed parameters are answered like a bad signature, not with a validation error.
    if expires is None or sig is None or not expires.isascii() or not expires.isdigit():
        raise Forbidden(INVALID_SIGNATURE)
    if not storage.verify_signature(key, int(expires), sig, utc_now(), filename):
        raise Forbidden(INVALID_SIGNATURE)
    try:
        stream = await storage.open_stream(key)
    except (ObjectMissing, InvalidKey) as exc:
        if isinstance(exc, ObjectMissing) and await has_expired(key):
            raise Gone(EXPIRED) from exc
        raise NotFound() from exc
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"}
    if stream.content_length is not None:
        headers["Content-Length"] = str(stream.content_length)
    if filename is not None:
        headers["Content-Disposition"] = content_disposition(filename)
    return StreamingResponse(_relay(stream), media_type=content_type_for(key), headers=headers)


def mount_files_router(app: FastAPI, storage: StorageBackend) -> bool:
    """Mount `/files/...` when `storage` is the local backend; returns whether it was mounted."""
    if not isinstance(storage, LocalBackend):
        return False
    app.include_router(router)
    return True
