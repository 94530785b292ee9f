"""`POST /v1/audio/speech`: OpenAI's text-to-speech call, answered with the audio bytes (billing in headers)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
from fastapi import APIRouter, Depends, Response
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from voicegate.auth.dependencies import CurrentUser
from voicegate.deps import (
    IdempotencyKeyHeader,
    RateCardDep,
    ResourcesDep,
    SessionDep,
    SettingsDep,
    UpstreamDep,
)
from voicegate.errors import described_openai
from voicegate.openai_compat import service
from voicegate.openai_compat.audio import CONTENT_TYPES
from voicegate.openai_compat.schemas import SpeechCreate
from voicegate.ratelimit.dependencies import RateLimit
from voicegate.resemble.tts.service import TtsDeps


class ClosingStreamingResponse(StreamingResponse):
    """A `StreamingResponse` that runs `on_close` when it is over, however it ended. Starlette leaves a body it
    stopped iterating (the client went away during a write) to the garbage collector, which would settle the
    stream's bill whenever it runs; this settles it before the request is done."""

    def __init__(self, content: AsyncIterator[bytes], on_close: Callable[[], Awaitable[None]], **kwargs: Any) -> None:
        super().__init__(content, **kwargs)
        self._on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            with anyio.CancelScope(shield=True):
                await self._on_close()


speech_router = APIRouter(prefix="/audio", tags=["openai-compatible"])

_AUDIO: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The audio, in `response_format`; billing in the `x-voicegate-*` headers",
        "content": {media: {"schema": {"type": "string", "format": "binary"}} for media in set(CONTENT_TYPES.values())},
    },
    **described_openai(
        {
            400: "Unknown model or voice name, or a value the gateway cannot honour",
            402: "Insufficient credits, or the caller's voice is suspended",
            404: "Unknown voice uuid, or another user's",
            409: "The same Idempotency-Key is still running",
            429: "Rate limit exceeded",
            502: "Resemble upstream error",
            503: "Upstream circuit open",
        }
    ),
}


@speech_router.post("/speech", response_class=Response, responses=_AUDIO, dependencies=[Depends(RateLimit("tts"))])
async def create_speech(
    body: SpeechCreate,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    upstream: UpstreamDep,
    rate_card: RateCardDep,
    resources: ResourcesDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    request = service.resolve(body, settings.openai_voice_map)
    deps = service.SpeechDeps(
        tts=TtsDeps.of(resources, session, upstream, rate_card),
        sessionmaker=resources.sessionmaker,
    )
    if service.streams(request, idempotency_key):
        stream = await service.open_stream(deps, user.id, request)
        return ClosingStreamingResponse(
            stream.body, stream.close, media_type=stream.content_type, headers=stream.headers
        )
    speech = await service.speak(
        deps, user.id, request, idempotency_key=idempotency_key, fingerprint=body.model_dump(mode="json")
    )
    return Response(speech.audio, media_type=speech.content_type, headers=speech.headers)
