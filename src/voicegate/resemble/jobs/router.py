# No `from __future__ import annotations`: the body type of each route is chosen at runtime from the kinds table.
"""Routes for every asynchronous capability, generated from the one kinds table: submit, get, list."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response, status

from voicegate.auth.dependencies import CurrentUser
from voicegate.billing import idempotency
from voicegate.deps import IdempotencyKeyHeader
from voicegate.errors import described
from voicegate.ratelimit.dependencies import RateLimit
from voicegate.resemble.jobs import service
from voicegate.resemble.jobs.dependencies import JobDepsDep
from voicegate.resemble.jobs.kinds import KINDS, JobKind
from voicegate.resemble.jobs.schemas import JobPage, JobRead

ERRORS = described(
    {
        402: "Insufficient credits",
        404: "Unknown job, or another user's",
        409: "The same Idempotency-Key is still running",
        415: "Not audio, video or an image",
        422: "Invalid input or unsafe URL",
        429: "Rate limit exceeded",
        502: "Resemble upstream error",
        503: "Upstream circuit open",
    }
)
JobId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]

router = APIRouter(prefix="/resemble", tags=["async jobs"])


def _register(kind: JobKind) -> None:
    limited = [Depends(RateLimit(kind.limit))]

    async def submit(
        body: kind.body,  # type: ignore[name-defined]
        user: CurrentUser,
        deps: JobDepsDep,
        response: Response,
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> dict[str, Any]:
        outcome = await idempotency.run_once(
            deps.session,
            user_id=user.id,
            key=idempotency_key,
            operation=f"{kind.capability}.submit",
            payload=body.model_dump(mode="json"),
            produce=lambda: service.submit(deps, kind, user.id, body),
        )
        if outcome.replayed:
            response.headers["Idempotent-Replayed"] = "true"
        return outcome.body

    async def get(job_id: JobId, user: CurrentUser, deps: JobDepsDep) -> dict[str, Any]:
        return await service.get(deps, kind, user.id, job_id)

    async def list_jobs(
        user: CurrentUser,
        deps: JobDepsDep,
        page: Annotated[int, Query(ge=1, le=100_000)] = 1,
        page_size: Annotated[int, Query(ge=1, le=100)] = 10,
    ) -> dict[str, Any]:
        return await service.list_jobs(deps, kind, user.id, page, page_size)

    name = kind.capability
    router.add_api_route(
        f"/{kind.path}",
        submit,
        methods=["POST"],
        status_code=status.HTTP_201_CREATED,
        response_model=JobRead,
        response_model_exclude_unset=True,  # links and the bill are absent, not null, until the job completes
        dependencies=limited,
        responses=ERRORS,
        name=f"{name}_submit",
        summary=f"Submit a {kind.path} job",
    )
    router.add_api_route(
        f"/{kind.path}",
        list_jobs,
        methods=["GET"],
        response_model=JobPage,
        responses=ERRORS,
        name=f"{name}_list",
        summary=f"List your {kind.path} jobs",
    )
    router.add_api_route(
        f"/{kind.path}/{{job_id}}",
        get,
        methods=["GET"],
        response_model=JobRead,
        response_model_exclude_unset=True,
        responses=ERRORS,
        name=f"{name}_get",
        summary=f"Get a {kind.path} job",
    )


for _kind in KINDS.values():
    _register(_kind)
