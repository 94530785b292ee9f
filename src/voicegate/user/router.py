from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from voicegate.admin.schemas import KeyCreate, KeyCreated, KeyRead
from voicegate.auth.dependencies import CurrentUser
from voicegate.config import Settings
from voicegate.deps import ResourcesDep, SessionDep, SettingsDep, StorageDep
from voicegate.errors import described
from voicegate.user import service
from voicegate.user.schemas import ActivityItem, ActivityPage, KeyList, SpendRead, UsageRead

router = APIRouter(prefix="/user", tags=["user"])

MAX_SPEND_DAYS = 90
MAX_PAGE = 10_000
NAME_PATTERN = r"^[A-Za-z0-9_.-]*$"  # capability and status names; anything else cannot match a row


@router.get("/usage")
async def usage(user: CurrentUser, session: SessionDep) -> UsageRead:
    """The caller's remaining credit and what they have spent, per capability."""
    return await service.usage_summary(session, user.id)


@router.get("/spend")
async def spend(
    user: CurrentUser, session: SessionDep, days: Annotated[int, Query(ge=1, le=MAX_SPEND_DAYS)] = 7
) -> SpendRead:
    """What the caller was charged per UTC day and capability over the last `days` days."""
    return await service.spend_by_day(session, user.id, days)


@router.get("/keys")
async def list_keys(user: CurrentUser, session: SessionDep) -> KeyList:
    """The caller's API keys (never their secrets), newest first."""
    keys = await service.list_keys(session, user.id)
    return KeyList(items=[KeyRead.model_validate(key, from_attributes=True) for key in keys])


@router.post("/keys", status_code=201, responses=described({409: "The account has been erased"}))
async def create_key(user: CurrentUser, session: SessionDep, body: KeyCreate | None = None) -> KeyCreated:
    """A new API key for the caller. `api_key` is shown in this answer only; it is stored as a digest."""
    issued = await service.create_key(session, user.id, (body or KeyCreate()).name)
    return KeyCreated(**KeyRead.model_validate(issued.key, from_attributes=True).model_dump(), api_key=issued.plaintext)


@router.delete("/keys/{key_id}", responses=described({404: "No such key among the caller's"}))
async def revoke_key(user: CurrentUser, key_id: str, session: SessionDep, resources: ResourcesDep) -> KeyRead:
    """Revoke one of the caller's keys, effective at once (other processes within 5 s)."""
    key = await service.revoke_key(session, user.id, key_id, resources.credentials)
    return KeyRead.model_validate(key, from_attributes=True)


@router.get("/activity")
async def activity(
    user: CurrentUser,
    session: SessionDep,
    storage: StorageDep,
    settings: SettingsDep,
    capability: Annotated[str | None, Query(max_length=32, pattern=NAME_PATTERN)] = None,
    status: Annotated[str | None, Query(max_length=16, pattern=NAME_PATTERN)] = None,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> ActivityPage:
    """The caller's requests newest first (20 a page), each with its billing breakdown and media link."""
    return await service.activity(
        session, storage, user.id, capability=capability, status=status, page=page, link_ttl=_link_ttl(settings)
    )


@router.get("/activity/{request_id}", responses=described({404: "No such request among the caller's"}))
async def activity_item(
    user: CurrentUser, request_id: str, session: SessionDep, storage: StorageDep, settings: SettingsDep
) -> ActivityItem:
    return await service.activity_item(session, storage, user.id, request_id, link_ttl=_link_ttl(settings))


def _link_ttl(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.presign_ttl_s)
