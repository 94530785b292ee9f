from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

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
from voicegate.deps import ResourcesDep, SessionDep, StorageDep
from voicegate.erasure import service as erasure_service
from voicegate.erasure.schemas import ErasureReport
from voicegate.erasure.service import ErasureDeps
from voicegate.errors import described
from voicegate.reconciliation import service as reconciliation_service
from voicegate.reconciliation.schemas import ReconciliationReport
from voicegate.reconciliation.window import DEFAULT_WINDOW
from voicegate.runtime_settings.router import API_ACTOR, ActorHeader
from voicegate.storage import service as storage_service
from voicegate.storage.schemas import StorageRestore, StorageRestored

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


@router.patch("/users/{user_id}", responses=described({422: "Unknown tier"}))
async def update_user(user_id: str, body: UserUpdate, session: SessionDep, resources: ResourcesDep) -> UserRead:
    user = await service.set_tier(session, user_id, body.tier, credentials=resources.credentials)
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


# --- storage retention --------------------------------------------------------------------------------------------


@router.post(
    "/storage/restore",
    responses=described({404: "Unknown key", 409: "Not deleted", 410: "Already purged", 502: "Storage unavailable"}),
)
async def restore_asset(body: StorageRestore, session: SessionDep, storage: StorageDep) -> StorageRestored:
    """Bring an expired asset back from `_deleted/` within the soft-delete window (fresh expiry: now + TTL)."""
    restored = await storage_service.restore(session, storage, body.key)
    return StorageRestored(asset_id=restored.asset_id, key=restored.key, expires_at=restored.expires_at)


@router.get("/reconciliation", responses=described({422: "Window not like 30m, 24h or 7d, or out of bounds"}))
async def reconciliation(
    session: SessionDep,
    resources: ResourcesDep,
    window: Annotated[str, Query(max_length=16, description="Rolling window ending now: 30m, 24h, 7d (1m-31d)")] = (
        DEFAULT_WINDOW
    ),
) -> ReconciliationReport:
    """Our provider cost against Resemble's usage deductions over the window, plus the internal checks.

    Resemble's side failing to answer is a field of the report (`comparison.outcome` "resemble_unavailable"),
    not an error: the internal checks still hold.
    """
    return await reconciliation_service.reconcile(session, resources.upstream, window)


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
