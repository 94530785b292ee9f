from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from voicegate.billing import idempotency
from voicegate.deps import IdempotencyKeyHeader, RateCardDep, ResourcesDep
from voicegate.ratelimit.dependencies import RateLimit
from voicegate.resemble.ownership import service as ownership
from voicegate.resemble.ownership.dependencies import Owned, ScopeDep
from voicegate.resemble.ownership.kinds import Kind
from voicegate.resemble.ownership.repository import OwnedResource
from voicegate.resemble.ownership.schemas import Deleted, Envelope, Paging, error_responses
from voicegate.resemble.ownership.schemas import Page as PageOf
from voicegate.resemble.projects import service
from voicegate.resemble.projects.schemas import (
    ClipCreate,
    ClipCreated,
    ClipRead,
    ProjectCreate,
    ProjectRead,
    ProjectUpdate,
)
from voicegate.resemble.tts.service import TtsDeps

router = APIRouter(prefix="/resemble/projects", tags=["projects"], dependencies=[Depends(RateLimit("projects"))])

ERRORS = error_responses()

owned_project = Owned(Kind.PROJECT, "project_uuid")
ProjectDep = Annotated[OwnedResource, Depends(owned_project)]
ClipDep = Annotated[OwnedResource, Depends(Owned(Kind.CLIP, "clip_uuid", parent=owned_project))]
PagingDep = Annotated[Paging, Query()]


@router.get("", response_model=PageOf[ProjectRead], responses=ERRORS)
async def list_projects(scope: ScopeDep, paging: PagingDep) -> dict[str, Any]:
    return await ownership.list_page(scope, Kind.PROJECT, page=paging.page, page_size=paging.page_size)


@router.post("", response_model=Envelope[ProjectRead], responses=ERRORS)
async def create_project(scope: ScopeDep, body: ProjectCreate) -> dict[str, Any]:
    return await service.create_project(scope, body)


@router.get("/{project_uuid}", response_model=Envelope[ProjectRead], responses=ERRORS)
async def get_project(scope: ScopeDep, project: ProjectDep) -> dict[str, Any]:
    return await ownership.fetch(scope, project)


@router.put("/{project_uuid}", response_model=Envelope[ProjectRead], responses=ERRORS)
async def update_project(scope: ScopeDep, project: ProjectDep, body: ProjectUpdate) -> dict[str, Any]:
    return await service.update_project(scope, project, body)


@router.delete("/{project_uuid}", response_model=Deleted, responses=ERRORS)
async def delete_project(scope: ScopeDep, project: ProjectDep) -> Deleted:
    await ownership.delete(scope, project)
    return Deleted(uuid=project.upstream_id)


@router.get("/{project_uuid}/clips", response_model=PageOf[ClipRead], responses=ERRORS)
async def list_clips(scope: ScopeDep, project: ProjectDep, paging: PagingDep) -> dict[str, Any]:
    return await ownership.list_page(scope, Kind.CLIP, page=paging.page, page_size=paging.page_size, parent=project)


@router.post(
    "/{project_uuid}/clips",
    response_model=ClipCreated,
    responses=error_responses(402, 409),
)
async def create_clip(
    scope: ScopeDep,
    project: ProjectDep,
    body: ClipCreate,
    rate_card: RateCardDep,
    resources: ResourcesDep,
    response: Response,
    idempotency_key: IdempotencyKeyHeader = None,
) -> dict[str, Any]:
    deps = TtsDeps.of(resources, scope.session, scope.upstream, rate_card)
    outcome = await idempotency.run_once(
        scope.session,
        user_id=scope.user_id,
        key=idempotency_key,
        operation="projects.clips.create",
        payload={"project": project.upstream_id, **body.model_dump(mode="json")},
        produce=lambda: service.create_clip(deps, scope, project, body.fields),
    )
    if outcome.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return outcome.body


@router.get("/{project_uuid}/clips/{clip_uuid}", response_model=Envelope[ClipRead], responses=ERRORS)
async def get_clip(scope: ScopeDep, clip: ClipDep) -> dict[str, Any]:
    return await ownership.fetch(scope, clip)


@router.delete("/{project_uuid}/clips/{clip_uuid}", response_model=Deleted, responses=ERRORS)
async def delete_clip(scope: ScopeDep, clip: ClipDep) -> Deleted:
    await ownership.delete(scope, clip)
    return Deleted(uuid=clip.upstream_id)
