from __future__ import annotations

from fastapi import APIRouter, Depends, status

from voicegate.admin import service
from voicegate.admin.dependencies import require_admin
from voicegate.admin.schemas import (
    CreditsGrant,
    KeyCreate,
    KeyCreated,
    KeyRead,
    UserCreate,
    UserCreated,
    UserRead,
    UserUpdate,
)
from voicegate.db.models import ApiKey, User
from voicegate.deps import ResourcesDep, SessionDep
from voicegate.errors import described

router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    dependencies=[Depends(require_admin)],
    responses=described({401: "Admin API key required", 404: "Unknown user or key"}),
)


def _key(key: ApiKey) -> KeyRead:
    return KeyRead.model_validate(key, from_attributes=True)


def _user(user: User, keys: list[ApiKey]) -> UserRead:
    return UserRead(
        id=user.id,
        email=user.email,
        tier=user.tier,
        credits_usd=str(user.balance_usd),
        created_at=user.created_at,
        keys=[_key(k) for k in keys],
    )


@router.post("/users", status_code=status.HTTP_201_CREATED, responses=described({409: "Email taken"}))
async def create_user(body: UserCreate, session: SessionDep) -> UserCreated:
    user, issued = await service.create_user(session, email=body.email, credits_usd=body.credits_usd, tier=body.tier)
    return UserCreated(
        id=user.id,
        email=user.email,
        tier=user.tier,
        credits_usd=str(user.balance_usd),
        api_key=issued.plaintext,
    )


@router.get("/users/{user_id}")
async def get_user(user_id: str, session: SessionDep) -> UserRead:
    user = await service.get_user(session, user_id)
    return _user(user, await service.list_keys(session, user_id))


@router.patch("/users/{user_id}", responses=described({422: "Unknown tier"}))
async def update_user(user_id: str, body: UserUpdate, session: SessionDep, resources: ResourcesDep) -> UserRead:
    user = await service.set_tier(session, user_id, body.tier, credentials=resources.credentials)
    return _user(user, await service.list_keys(session, user_id))


@router.post("/users/{user_id}/credits", responses=described({422: "Would go below zero"}))
async def grant_credits(user_id: str, body: CreditsGrant, session: SessionDep) -> UserRead:
    user = await service.grant_credits(session, user_id, body.amount_usd, body.note)
    return _user(user, await service.list_keys(session, user_id))


@router.post("/users/{user_id}/keys", status_code=status.HTTP_201_CREATED)
async def issue_key(user_id: str, body: KeyCreate, session: SessionDep) -> KeyCreated:
    issued = await service.issue_key(session, user_id, body.name)
    return KeyCreated(**_key(issued.key).model_dump(), api_key=issued.plaintext)


@router.delete("/users/{user_id}/keys/{key_id}")
async def revoke_key(user_id: str, key_id: str, session: SessionDep, resources: ResourcesDep) -> KeyRead:
    return _key(await service.revoke_key(session, key_id, user_id=user_id, credentials=resources.credentials))
