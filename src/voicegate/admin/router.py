from __future__ import annotations

from datetime import datetime

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
)
from voicegate.db.models import ApiKey, User
from voicegate.deps import ResourcesDep, SessionDep
from voicegate.erasure import service as erasure_service
from voicegate.erasure.schemas import ErasureReport
from voicegate.erasure.service import ErasureDeps
from voicegate.errors import described
from voicegate.runtime_settings.router import API_ACTOR, ActorHeader

router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    dependencies=[Depends(require_admin)],
    responses=described({401: "Admin API key required", 404: "Unknown user or key"}),
)


def _key(key: ApiKey) -> KeyRead:
    return KeyRead.model_validate(key, from_attributes=True)


def _user(user: User, keys: list[ApiKey], erased_at: datetime | None = None) -> UserRead:
    return UserRead(
        id=user.id,
        email=user.email,
        tier=user.tier,
        credits_usd=str(user.balance_usd),
        created_at=user.created_at,
        erased_at=erased_at,
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
    return _user(user, await service.list_keys(session, user_id), await service.erased_at(session, user_id))


@router.post("/users/{user_id}/credits", responses=described({409: "User erased", 422: "Would go below zero"}))
async def grant_credits(user_id: str, body: CreditsGrant, session: SessionDep) -> UserRead:
    user = await service.grant_credits(session, user_id, body.amount_usd, body.note)
    return _user(user, await service.list_keys(session, user_id))


@router.post("/users/{user_id}/keys", status_code=status.HTTP_201_CREATED, responses=described({409: "User erased"}))
async def issue_key(user_id: str, body: KeyCreate, session: SessionDep) -> KeyCreated:
    issued = await service.issue_key(session, user_id, body.name)
    return KeyCreated(**_key(issued.key).model_dump(), api_key=issued.plaintext)


@router.delete("/users/{user_id}/keys/{key_id}")
async def revoke_key(user_id: str, key_id: str, session: SessionDep, resources: ResourcesDep) -> KeyRead:
    return _key(await service.revoke_key(session, key_id, user_id=user_id, credentials=resources.credentials))


# GDPR erasure


@router.delete(
    "/users/{user_id}",
    responses=described({502: "A step could not finish (Resemble or storage); call again to resume"}),
)
async def erase_user(
    user_id: str, session: SessionDep, resources: ResourcesDep, actor: ActorHeader = None
) -> ErasureReport:
    """Erase the user's data (stored objects, Resemble objects, keys, personal fields) and keep their ledger under
    a pseudonym. Idempotent: a repeated call answers the same report; an interrupted one resumes."""
    deps = ErasureDeps(session, resources.storage, resources.upstream, resources.credentials)
    return await erasure_service.erase_user(deps, user_id, actor=f"{API_ACTOR}:{actor}" if actor else API_ACTOR)
