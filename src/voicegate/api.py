"""Route tree. Everything under /api/v1 needs a user unless it is mounted on the public router:
secure by default, as new capability routers join `authenticated`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from voicegate import __version__
from voicegate.admin.router import router as admin_router
from voicegate.auth.dependencies import get_principal
from voicegate.auth.router import router as auth_router
from voicegate.config import Settings
from voicegate.resemble.agents.router import router as agents_router
from voicegate.resemble.jobs.callback_router import router as resemble_callback_router
from voicegate.resemble.jobs.router import router as jobs_router
from voicegate.resemble.projects.router import router as projects_router
from voicegate.resemble.tts.router import router as tts_router
from voicegate.resemble.uploads.router import router as uploads_router
from voicegate.storage.router import router as files_router
from voicegate.user.router import router as user_router
from voicegate.webhooks.router import router as webhooks_router


def build_router(settings: Settings) -> APIRouter:
    root = APIRouter()

    @root.get("/", tags=["meta"])
    async def index() -> dict[str, Any]:
        return {"service": "voicegate", "version": __version__, "docs": "/docs", "api": "/api/v1"}

    @root.get("/healthz", tags=["meta"])
    async def healthz(request: Request) -> dict[str, Any]:
        return {"status": "ok", "upstream_circuit": request.app.state.resources.upstream.breaker.state}

    @root.get("/metrics", tags=["meta"], include_in_schema=False)
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    root.include_router(files_router)

    public = APIRouter(prefix="/api/v1")
    public.include_router(auth_router)
    public.include_router(admin_router)
    public.include_router(resemble_callback_router)

    authenticated = APIRouter(prefix="/api/v1", dependencies=[Depends(get_principal)])
    authenticated.include_router(tts_router)
    authenticated.include_router(uploads_router)
    authenticated.include_router(jobs_router)
    authenticated.include_router(projects_router)
    authenticated.include_router(agents_router)
    authenticated.include_router(user_router)
    authenticated.include_router(webhooks_router)

    root.include_router(public)
    root.include_router(authenticated)
    return root
