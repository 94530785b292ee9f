"""`POST /v1/audio/transcriptions`, as OpenAI's API has it (multipart `file`, `model`, `response_format`, ...):
the native STT job, billed once on completion, waited for up to HUB_STT_WAIT_S and rendered in the format asked
for. Past the wait a 504 names the job to poll natively; the job runs on."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Response, UploadFile
from pydantic import BaseModel

from voicegate.auth.dependencies import CurrentUser
from voicegate.deps import AccountDep, IdempotencyKeyHeader, ResourcesDep, SessionDep, SettingsDep
from voicegate.errors import described_openai
from voicegate.hub import catalogue, forms, service, transcripts
from voicegate.hub.schemas import ResponseFormat, TimedWord, TranscriptSegment
from voicegate.kit.jsonresponse import json_response
from voicegate.ratelimit.dependencies import RateLimit

transcriptions_router = APIRouter(prefix="/v1", tags=["openai-compatible"])

ERRORS = described_openai(
    {
        400: "A model this gateway does not offer; the message lists those it does",
        401: "Missing or invalid API key",
        402: "Insufficient credits",
        409: "The same Idempotency-Key is still running",
        413: "Audio file too large",
        415: "Not audio or video",
        422: "Invalid form field",
        429: "Rate limit exceeded",
        502: "Resemble upstream error, or the transcription failed upstream",
        503: "Upstream circuit open",
        504: "The transcription did not finish in time; the message names the job and its native poll path",
    }
)
PLAIN, VTT = "text/plain; charset=utf-8", "text/vtt; charset=utf-8"
TEXT_FORMATS = {"text": PLAIN, "srt": PLAIN, "vtt": VTT}


class DurationUsage(BaseModel):
    type: Literal["duration"]
    seconds: float


class TranscriptionRead(BaseModel):
    """`json`: `text` (and `usage`); `verbose_json` adds `task`, `language`, `duration`, `segments` and, with
    `timestamp_granularities[]=word`, `words`."""

    text: str
    usage: DurationUsage | None = None
    task: str | None = None
    language: str | None = None
    duration: float | None = None
    segments: list[TranscriptSegment] | None = None
    words: list[TimedWord] | None = None


OK_CONTENT: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The transcript: JSON for json and verbose_json, plain text for text and srt, WebVTT for vtt",
        "content": {"text/plain": {"schema": {"type": "string"}}, "text/vtt": {"schema": {"type": "string"}}},
    }
}


@transcriptions_router.post(
    "/audio/transcriptions",
    response_model=TranscriptionRead,
    responses={**OK_CONTENT, **ERRORS},
    dependencies=[Depends(RateLimit("stt"))],
)
async def create_transcription(
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    resources: ResourcesDep,
    account: AccountDep,
    file: Annotated[UploadFile, File(description="The audio (or video) to transcribe")],
    model: Annotated[
        str, Form(min_length=1, max_length=100, description="whisper-1, gpt-4o-transcribe, ... or resemble/...")
    ],
    language: forms.Language = None,
    prompt: Annotated[str | None, Form(max_length=4000, description="Accepted; Resemble takes no prompt")] = None,
    response_format: Annotated[ResponseFormat, Form()] = "json",
    temperature: Annotated[float | None, Form(ge=0, le=1)] = None,
    timestamp_granularities: Annotated[
        list[Literal["word", "segment"]] | None, Form(alias="timestamp_granularities[]", max_length=2)
    ] = None,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    stt_model = catalogue.resolve("stt", model)
    audio = await forms.read_audio(file, forms.max_audio_bytes(settings))
    deps = service.stt_deps(resources, session, account)
    done = await service.transcribe(
        deps,
        user.id,
        audio,
        stt_model,
        language=language,
        operation="openai.audio.transcriptions",
        idempotency_key=idempotency_key,
    )
    headers = _headers(done)
    if response_format in TEXT_FORMATS:
        text = transcripts.text_of(done)
        content = text if response_format == "text" else transcripts.subtitles(done, response_format)
        return Response(content, headers=headers, media_type=TEXT_FORMATS[response_format])
    if response_format == "verbose_json":
        granularities = frozenset(timestamp_granularities or ())
        body = transcripts.verbose(done, language=language, temperature=temperature, granularities=granularities)
        return json_response(body, headers=headers)
    body = {"text": transcripts.text_of(done)}
    duration = transcripts.duration_of(done)
    if duration is not None:
        body["usage"] = {"type": "duration", "seconds": duration}
    return json_response(body, headers=headers)


def _headers(job: dict[str, Any]) -> dict[str, str]:
    """The bill travels in headers, as the body keeps OpenAI's shape: exact decimal strings."""
    headers = {"X-Job-Id": str(job["job_id"])}
    billing = job.get("billing")
    if isinstance(billing, dict):
        headers.update(
            {
                "X-Billing-Unit": str(billing["unit"]),
                "X-Billing-Quantity": str(billing["quantity"]),
                "X-Billing-Charged": str(billing["charged"]),
                "X-Billing-Currency": str(billing["currency"]),
            }
        )
    return headers
