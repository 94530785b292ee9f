from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response

from voicegate.auth.dependencies import CurrentUser
from voicegate.billing import idempotency
from voicegate.deps import (
    IdempotencyKeyHeader,
    RateCardDep,
    ResourcesDep,
    SessionDep,
    UpstreamDep,
)
from voicegate.errors import described
from voicegate.kit.jsonresponse import json_response
from voicegate.ratelimit.dependencies import RateLimit
from voicegate.resemble.ownership.dependencies import ScopeDep
from voicegate.resemble.ownership.kinds import UPSTREAM_ID_PATTERN
from voicegate.resemble.tts import service
from voicegate.resemble.tts.schemas import SynthesizeCreate, SynthesizeRead, VoiceItem, VoicePage
from voicegate.resemble.voices import catalogue

router = APIRouter(prefix="/resemble/tts", tags=["text-to-speech"])

ERRORS = described(
    {
        402: "Insufficient credits",
        404: "Unknown voice, or another user's",
        409: "The same Idempotency-Key is still running",
        429: "Rate limit exceeded",
        502: "Resemble upstream error",
        503: "Upstream circuit open",
    }
)


@router.post("/synthesize", response_model=SynthesizeRead, responses=ERRORS, dependencies=[Depends(RateLimit("tts"))])
async def synthesize(
    body: SynthesizeCreate,
    user: CurrentUser,
    session: SessionDep,
    upstream: UpstreamDep,
    rate_card: RateCardDep,
    resources: ResourcesDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    deps = service.TtsDeps.of(resources, session, upstream, rate_card)
    outcome = await idempotency.run_once(
        session,
        user_id=user.id,
        key=idempotency_key,
        operation="tts.synthesize",
        payload=body.model_dump(mode="json"),
        produce=lambda: service.synthesize(deps, user.id, body),
        detached=service.audio_replay(deps, user.id),
    )
    # The body is ~1 MB of base64 audio: serialise it once, fast, and skip re-validating what the service built.
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
    return json_response(outcome.body, headers=headers)


@router.get("/voices", response_model=VoicePage, responses=ERRORS, dependencies=[Depends(RateLimit("voices"))])
async def list_voices(
    scope: ScopeDep,
    resources: ResourcesDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=10, le=1000)] = 10,
) -> dict[str, Any]:
    return await catalogue.list_page(scope, resources.voices, page=page, page_size=page_size)


@router.get(
    "/voices/{voice_uuid}", response_model=VoiceItem, responses=ERRORS, dependencies=[Depends(RateLimit("voices"))]
)
async def get_voice(
    scope: ScopeDep, resources: ResourcesDep, voice_uuid: Annotated[str, Path(pattern=UPSTREAM_ID_PATTERN)]
) -> dict[str, Any]:
    return await catalogue.get(scope, resources.voices, voice_uuid)
