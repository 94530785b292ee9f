from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel

from voicegate.billing import idempotency
from voicegate.deps import IdempotencyKeyHeader
from voicegate.errors import described
from voicegate.ratelimit.dependencies import RateLimit
from voicegate.resemble.identity import service
from voicegate.resemble.identity.dependencies import IdentityDepsDep
from voicegate.resemble.identity.schemas import (
    IdentityEnroll,
    IdentityEnrolled,
    IdentityRead,
    IdentitySearch,
    SearchResult,
)
from voicegate.resemble.identity.service import IdentityDeps
from voicegate.resemble.ownership import service as ownership
from voicegate.resemble.ownership.dependencies import Owned, ScopeDep
from voicegate.resemble.ownership.kinds import Kind
from voicegate.resemble.ownership.repository import OwnedResource
from voicegate.resemble.ownership.schemas import Deleted, Envelope, Paging, error_responses
from voicegate.resemble.ownership.schemas import Page as PageOf

router = APIRouter(prefix="/resemble/identity", tags=["identity"], dependencies=[Depends(RateLimit("identity"))])

ERRORS = error_responses()
BILLED_ERRORS = {**error_responses(402, 409), **described({415: "The media named by `url` is not audio"})}

IdentityDep = Annotated[OwnedResource, Depends(Owned(Kind.IDENTITY, "identity_id"))]
PagingDep = Annotated[Paging, Query()]


async def _once(
    deps: IdentityDeps,
    response: Response,
    key: str | None,
    operation: str,
    body: BaseModel,
    produce: Callable[[], Awaitable[dict[str, Any]]],
) -> dict[str, Any]:
    """A billed call under the caller's `Idempotency-Key`: a retry replays the first answer, never bills again."""
    outcome = await idempotency.run_once(
        deps.scope.session,
        user_id=deps.scope.user_id,
        key=key,
        operation=operation,
        payload=body.model_dump(mode="json"),
        produce=produce,
    )
    if outcome.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return outcome.body


@router.post("/enroll", response_model=IdentityEnrolled, responses=BILLED_ERRORS)
async def enroll_identity(
    deps: IdentityDepsDep, body: IdentityEnroll, response: Response, idempotency_key: IdempotencyKeyHeader = None
) -> dict[str, Any]:
    return await _once(deps, response, idempotency_key, "identity.enroll", body, lambda: service.enroll(deps, body))


@router.post("/search", response_model=SearchResult, responses=BILLED_ERRORS)
async def search_identities(
    deps: IdentityDepsDep, body: IdentitySearch, response: Response, idempotency_key: IdempotencyKeyHeader = None
) -> dict[str, Any]:
    return await _once(deps, response, idempotency_key, "identity.search", body, lambda: service.search(deps, body))


@router.get("", response_model=PageOf[IdentityRead], responses=ERRORS)
async def list_identities(scope: ScopeDep, paging: PagingDep) -> dict[str, Any]:
    return await service.list_page(scope, page=paging.page, page_size=paging.page_size)


@router.get("/{identity_id}", response_model=Envelope[IdentityRead], responses=ERRORS)
async def get_identity(scope: ScopeDep, identity: IdentityDep) -> dict[str, Any]:
    return await service.get(scope, identity)


@router.delete("/{identity_id}", response_model=Deleted, responses=ERRORS)
async def delete_identity(scope: ScopeDep, identity: IdentityDep) -> Deleted:
    await ownership.delete(scope, identity)
    return Deleted(uuid=identity.upstream_id)
