from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request, status
from starlette.requests import ClientDisconnect

from voicegate.auth.dependencies import CurrentUser
from voicegate.deps import SessionDep, SettingsDep, StorageDep
from voicegate.errors import BadRequest, described
from voicegate.ratelimit.dependencies import RateLimit
from voicegate.resemble.uploads import service
from voicegate.resemble.uploads.schemas import UploadRead

router = APIRouter(prefix="/resemble/uploads", tags=["uploads"])

ERRORS = described(
    {
        400: "Upload interrupted",
        413: "File larger than the upload limit",
        415: "Not an allowed audio, video or image type (judged by content)",
        422: "Malformed form, missing or empty file, or unknown purpose",
        429: "Rate limit exceeded",
        502: "Storage unavailable",
    }
)

# The body is streamed by hand (see service.py), so FastAPI cannot derive its schema from parameters.
MULTIPART_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "purpose": {"type": "string", "enum": list(service.PURPOSES)},
                    },
                }
            }
        },
    }
}


async def _body(request: Request) -> AsyncIterator[bytes]:
    try:
        async for chunk in request.stream():
            yield chunk
    except ClientDisconnect:
        raise BadRequest("Upload interrupted: the client disconnected") from None


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=UploadRead,
    responses=ERRORS,
    openapi_extra=MULTIPART_BODY,
    dependencies=[Depends(RateLimit("uploads"))],
)
async def create_upload(
    request: Request, user: CurrentUser, session: SessionDep, settings: SettingsDep, storage: StorageDep
) -> dict[str, Any]:
    deps = _deps(session, settings, storage)
    body = service.UploadBody(
        chunks=_body(request),
        content_type=request.headers.get("content-type"),
        content_length=request.headers.get("content-length"),
    )
    return await service.create_upload(deps, user.id, body)


@router.get(
    "/{asset_id}",
    response_model=UploadRead,
    responses=described({404: "No such upload of yours", 429: "Rate limit exceeded", 502: "Storage unavailable"}),
    dependencies=[Depends(RateLimit("uploads"))],
)
async def get_upload(
    asset_id: str, user: CurrentUser, session: SessionDep, settings: SettingsDep, storage: StorageDep
) -> dict[str, Any]:
    return await service.get_upload(_deps(session, settings, storage), user.id, asset_id)


def _deps(session: SessionDep, settings: SettingsDep, storage: StorageDep) -> service.UploadDeps:
    return service.UploadDeps(
        session=session,
        storage=storage,
        max_bytes=settings.upload_max_bytes,
        presign_ttl=timedelta(seconds=settings.presign_ttl_s),
    )
