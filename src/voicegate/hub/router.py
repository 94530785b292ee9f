"""The hub's generic routes (indoxhub SDK: `text_to_speech`, `speech_to_text`, `models`, `get_model_info`),
served by the native Resemble services."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, Response, UploadFile

from voicegate.auth.dependencies import CurrentUser
from voicegate.billing import idempotency
from voicegate.deps import IdempotencyKeyHeader, RateCardDep, ResourcesDep, SessionDep, SettingsDep
from voicegate.errors import BadRequest, described
from voicegate.hub import catalogue, forms, service, transcripts
from voicegate.hub.schemas import (
    HubTranscriptionRead,
    HubTtsCreate,
    HubTtsRead,
    ModelRead,
    ProviderList,
    ProviderRead,
    ResponseFormat,
)
from voicegate.kit.jsonresponse import json_response
from voicegate.ratelimit.dependencies import limit
from voicegate.ratelimit.rules import Capability
from voicegate.resemble.tts.service import TtsDeps, audio_replay

router = APIRouter(tags=["hub"])

ERRORS = described(
    {
        400: "A model this gateway does not offer (the message lists those it does), or a field it cannot honour",
        402: "Insufficient credits",
        404: "Unknown voice, or another user's",
        409: "The same Idempotency-Key is still running",
        413: "Audio file too large",
        415: "Not audio or video",
        422: "Invalid input",
        429: "Rate limit exceeded",
        502: "Resemble upstream error, or the transcription failed upstream",
        503: "Upstream circuit open",
        504: "The transcription did not finish in time; the message names the job to poll",
    }
)
MODEL_ERRORS = described({404: "Unknown provider or model"})
Segment = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._-]+$")]


@router.post("/audio/tts/generations", response_model=HubTtsRead, responses=ERRORS)
async def tts_generations(
    body: HubTtsCreate,
    user: CurrentUser,
    session: SessionDep,
    resources: ResourcesDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Text-to-speech by model name: the native synthesis (same hold, charge, usage and mirror), plus `model`."""
    account = await service.account_for(resources, user.id, body.byok_api_key)
    await limit(resources, user, Capability.TTS, account)
    model = catalogue.resolve("tts", body.model)
    if body.instructions and body.instructions.strip():
        raise BadRequest("instructions are not supported by Resemble's models", extra={"param": "instructions"})
    extras = body.additional_params.model_dump(exclude_none=True) if body.additional_params else {}
    synth = service.synthesize_body(
        {
            "voice_uuid": body.voice,
            "text": body.input,
            "output_format": body.response_format,
            "speed": body.speed,
            **extras,
        }
    )
    deps = TtsDeps.of(resources, session, account.upstream, account.rate_card)
    outcome = await idempotency.run_once(
        session,
        user_id=user.id,
        key=idempotency_key,
        operation="hub.tts.generations",
        payload={"model": model.id, **synth.model_dump(mode="json")},
        produce=lambda: service.generate_speech(deps, user.id, model, synth),
        detached=audio_replay(deps, user.id),
    )
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
    return json_response(outcome.body, headers=headers)


@router.post(
    "/audio/stt/transcriptions",
    response_model=HubTranscriptionRead,
    response_model_exclude_none=True,
    responses=ERRORS,
)
async def stt_transcriptions(
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    resources: ResourcesDep,
    file: Annotated[UploadFile, File(description="The audio (or video) to transcribe")],
    model: Annotated[str, Form(min_length=1, max_length=100)] = "resemble/default",
    language: forms.Language = None,
    prompt: Annotated[str | None, Form(max_length=4000, description="Accepted; Resemble takes no prompt")] = None,
    response_format: Annotated[ResponseFormat, Form()] = "json",
    temperature: Annotated[float | None, Form(ge=0, le=1)] = None,
    timestamp_granularities: Annotated[
        list[str] | None, Form(description='JSON list, e.g. ["word", "segment"]', max_length=2)
    ] = None,
    byok_api_key: Annotated[str | None, Form(min_length=1, max_length=512)] = None,
    idempotency_key: IdempotencyKeyHeader = None,
) -> dict[str, Any]:
    """Speech-to-text by model name: the native STT job (billed once on completion), waited for up to
    HUB_STT_WAIT_S; past that a 504 names the job to poll at `GET /api/v1/resemble/stt/{job_id}`."""
    account = await service.account_for(resources, user.id, byok_api_key)
    await limit(resources, user, Capability.STT, account)
    stt_model = catalogue.resolve("stt", model)
    granularities = forms.parse_granularities(timestamp_granularities)
    audio = await forms.read_audio(file, forms.max_audio_bytes(settings))
    deps = service.stt_deps(resources, session, account)
    done = await service.transcribe(
        deps,
        user.id,
        audio,
        stt_model,
        language=language,
        operation="hub.stt.transcriptions",
        idempotency_key=idempotency_key,
    )
    body: dict[str, Any] = {
        "text": transcripts.text_of(done),
        "model": stt_model.id,
        "provider": catalogue.PROVIDER,
        "job_id": done["job_id"],
        "response_format": response_format,
        "language": language,
        "duration": transcripts.duration_of(done),
        "transcript_url": done.get("transcript_url"),
        "billing": done.get("billing"),
    }
    if response_format == "verbose_json":
        verbose = transcripts.verbose(done, language=language, temperature=temperature, granularities=granularities)
        body.update(language=verbose["language"], segments=verbose.get("segments"), words=verbose.get("words"))
    elif response_format in ("srt", "vtt"):
        body["subtitles"] = transcripts.subtitles(done, response_format)
    return body


@router.get("/models", response_model=ProviderList, responses=MODEL_ERRORS)
async def list_models(rate_card: RateCardDep) -> list[dict[str, Any]]:
    """Every provider and its models, with the rate card's price per unit: Resemble's, our markup, and ours."""
    return [service.provider_view(rate_card)]


@router.get("/models/{provider}", response_model=ProviderRead, responses=MODEL_ERRORS)
async def provider_models(provider: Segment, rate_card: RateCardDep) -> dict[str, Any]:
    return service.provider_of(rate_card, provider)


@router.get("/models/{provider}/{model}", response_model=ModelRead, responses=MODEL_ERRORS)
async def model_info(provider: Segment, model: Segment, rate_card: RateCardDep) -> dict[str, Any]:
    return service.model_of(rate_card, provider, model)
