"""Route tree. Everything under /api/v1 needs a user unless it is mounted on the public router:
secure by default, as new capability routers join `authenticated`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel

from voicegate import __version__, metrics
from voicegate.admin.router import router as admin_router
from voicegate.auth.dependencies import get_principal
from voicegate.auth.router import router as auth_router
from voicegate.byok.router import router as byok_router
from voicegate.console.router import router as console_router
from voicegate.errors import COMMON_ERRORS
from voicegate.health.router import router as health_router
from voicegate.hub.router import router as hub_router
from voicegate.openai_compat.models import models_router
from voicegate.openai_compat.speech import speech_router
from voicegate.openai_compat.transcriptions import transcriptions_router
from voicegate.resemble.agents.router import router as agents_router
from voicegate.resemble.identity.router import router as identity_router
from voicegate.resemble.jobs.callback_router import router as resemble_callback_router
from voicegate.resemble.jobs.router import router as jobs_router
from voicegate.resemble.projects.router import router as projects_router
from voicegate.resemble.streaming.router import router as streaming_router
from voicegate.resemble.tts.router import router as tts_router
from voicegate.resemble.uploads.router import router as uploads_router
from voicegate.resemble.voice_design.router import router as voice_design_router
from voicegate.resemble.voices.router import router as voices_router
from voicegate.runtime_settings.router import router as runtime_settings_router
from voicegate.storage.router import router as files_router
from voicegate.user.router import router as user_router
from voicegate.webhooks.router import router as webhooks_router


class IndexRead(BaseModel):
    service: str
    version: str
    docs: str
    api: str


class HealthRead(BaseModel):
    status: str
    upstream_circuit: str


PROMETHEUS_TEXT: dict[int | str, dict[str, Any]] = {
    200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}, "description": "Metrics"}
}


def build_router() -> APIRouter:
    root = APIRouter(responses=COMMON_ERRORS)

    @root.get("/", tags=["meta"])
    async def index() -> IndexRead:
        return IndexRead(service="voicegate", version=__version__, docs="/docs", api="/api/v1")

    @root.get("/healthz", tags=["meta"])
    async def healthz(request: Request) -> HealthRead:
        return HealthRead(status="ok", upstream_circuit=request.app.state.resources.upstream.breaker.state)

    @root.get("/metrics", tags=["meta"], response_class=Response, responses=PROMETHEUS_TEXT)
    async def prometheus_metrics(request: Request) -> Response:
        request.app.state.resources.upstream.breaker.publish_state()
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    root.include_router(health_router)
    root.include_router(files_router)
    root.include_router(console_router)  # HTML pages under /console, outside the API and its schema

    public = APIRouter(prefix="/api/v1")
    public.include_router(auth_router)
    public.include_router(admin_router)
    public.include_router(runtime_settings_router)
    public.include_router(resemble_callback_router)
    public.include_router(streaming_router)  # a WebSocket: authenticates its own upgrade request

    authenticated = APIRouter(prefix="/api/v1", dependencies=[Depends(get_principal)])
    authenticated.include_router(tts_router)
    authenticated.include_router(uploads_router)
    authenticated.include_router(jobs_router)
    authenticated.include_router(projects_router)
    authenticated.include_router(agents_router)
    authenticated.include_router(voices_router)
    authenticated.include_router(voice_design_router)
    authenticated.include_router(identity_router)
    authenticated.include_router(user_router)
    authenticated.include_router(byok_router)
    authenticated.include_router(webhooks_router)
    authenticated.include_router(hub_router)

    # OpenAI's API paths (`/v1/...`), for its SDKs; they authenticate with the same API keys.
    openai = APIRouter(dependencies=[Depends(get_principal)])
    openai.include_router(transcriptions_router)
    openai.include_router(models_router)
    openai.include_router(speech_router, prefix="/v1")

    root.include_router(public)
    root.include_router(authenticated)
    root.include_router(openai)
    return root
