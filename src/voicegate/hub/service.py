"""The hub's generic capabilities on top of the native Resemble services: one synthesis and one transcription
path, the same holds, charges, usage rows and mirrors as the native routes; only the names and shapes differ.

`account_for` is the one place the per-request `byok_api_key` field is read: it decides which upstream account
(and rate card) a call runs on.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from voicegate.billing import idempotency
from voicegate.billing.pricing import RateCard
from voicegate.byok.service import Account
from voicegate.db.models import ProviderResembleAsset
from voicegate.errors import (
    GatewayError,
    NotFound,
    StorageUnavailable,
    Unprocessable,
    UnsupportedMedia,
    UpstreamError,
)
from voicegate.hub import catalogue
from voicegate.hub.catalogue import PROVIDER, Model
from voicegate.kit import media
from voicegate.kit.ids import new_id
from voicegate.resemble.jobs import repository as jobs_repository
from voicegate.resemble.jobs import service as jobs_service
from voicegate.resemble.jobs.kinds import KINDS
from voicegate.resemble.jobs.schemas import SttSubmit
from voicegate.resemble.tts import service as tts_service
from voicegate.resemble.tts.schemas import SynthesizeCreate
from voicegate.resources import Resources
from voicegate.storage import service as storage_service
from voicegate.storage.retention import AssetClass

STT = KINDS["stt"]
NATIVE_STT_PATH: Final = "/api/v1/resemble/stt/{job_id}"
# Between two looks at an open job; `jobs.service` asks Resemble at most every 500 ms whatever we do.
POLL_EVERY_S: Final = 0.5
PROVIDER_NAME: Final = "Resemble AI"
PROVIDER_DESCRIPTION: Final = "Text-to-speech and speech-to-text by Resemble AI, billed from your prepaid credit"


async def account_for(resources: Resources, user_id: str, byok_api_key: str | None) -> Account:
    """The account a hub call runs on: the key sent with this request (the SDK's `byok_api_key`; never stored,
    logged or echoed), else the caller's stored key, else the gateway's shared account. A key sent while the
    gateway has no BYOK_ENCRYPTION_KEY is a 400 (`ByokDisabled`)."""
    if byok_api_key is not None:
        return resources.byok.account_for_key(byok_api_key)
    return await resources.byok.account_for_user(user_id)


# --- text-to-speech ---------------------------------------------------------------------------------------------


def synthesize_body(fields: Mapping[str, Any]) -> SynthesizeCreate:
    """The native synthesis request for hub fields; a value the native route refuses is a 422 naming it."""
    try:
        return SynthesizeCreate.model_validate({k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        issues = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors())
        raise Unprocessable(f"Request validation failed: {issues}") from None


async def generate_speech(
    deps: tts_service.TtsDeps, user_id: str, model: Model, body: SynthesizeCreate
) -> dict[str, Any]:
    result = await tts_service.synthesize(deps, user_id, body, upstream_model=model.upstream_model)
    return {**result, "model": model.id, "provider": PROVIDER}


# --- speech-to-text ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AudioFile:
    data: bytes
    filename: str | None


class TranscriptionPending(GatewayError):
    """The job did not finish within HUB_STT_WAIT_S: it runs on (and is billed once, when it completes)."""

    status_code = 504

    def __init__(self, job_id: str, waited_s: float) -> None:
        path = NATIVE_STT_PATH.format(job_id=job_id)
        super().__init__(
            f"Transcription job {job_id} is still running after {waited_s:g} s; poll GET {path} for the result",
            extra={"code": "transcription_timeout", "job_id": job_id, "poll_url": path},
        )


def checked_audio(audio: AudioFile) -> media.MediaType:
    if not audio.data:
        raise Unprocessable("The uploaded file is empty")
    sniffed = media.sniff(audio.data[: media.SNIFF_BYTES])
    if sniffed is None or sniffed.kind not in (media.MediaKind.AUDIO, media.MediaKind.VIDEO):
        raise UnsupportedMedia("Unsupported media type: send audio (WAV, MP3, OGG, FLAC, M4A, AAC) or video")
    return sniffed


async def submit_transcription(
    deps: jobs_service.JobDeps,
    user_id: str,
    audio: AudioFile,
    *,
    language: str | None,
    operation: str,
    idempotency_key: str | None,
    fingerprint: Mapping[str, Any],
) -> dict[str, Any]:
    """Keep the file as the caller's `stt_input` and submit the native STT job on it (one hold, one charge on
    completion). With an Idempotency-Key the same key and request answer the same job, never a second one."""
    sniffed = checked_audio(audio)
    digest = hashlib.sha256(audio.data).hexdigest()

    async def produce() -> dict[str, Any]:
        stored = await _store_input(deps, user_id, audio, sniffed)
        try:
            return await jobs_service.submit(deps, STT, user_id, SttSubmit(audio_url=stored.url, language=language))
        except GatewayError:
            await _forget_unused_input(deps, stored)
            raise

    outcome = await idempotency.run_once(
        deps.session,
        user_id=user_id,
        key=idempotency_key,
        operation=operation,
        payload={**fingerprint, "file_sha256": digest, "language": language},
        produce=produce,
    )
    return outcome.body


@dataclass(frozen=True)
class _StoredInput:
    asset_id: str
    storage_key: str
    url: str


async def _store_input(
    deps: jobs_service.JobDeps, user_id: str, audio: AudioFile, sniffed: media.MediaType
) -> _StoredInput:
    asset = await storage_service.put_asset(
        deps.storage,
        user_id=user_id,
        request_id=new_id(),
        asset_class=AssetClass.STT_INPUT,
        data=audio.data,
        ext=sniffed.extension,
        content_type=sniffed.mime,
    )
    if asset is None:
        raise StorageUnavailable()
    deps.session.add(asset)
    await deps.session.commit()
    link = await storage_service.presign(deps.storage, asset, timedelta(seconds=deps.settings.presign_ttl_s))
    return _StoredInput(asset_id=asset.id, storage_key=asset.storage_key, url=link.url)


async def _forget_unused_input(deps: jobs_service.JobDeps, stored: _StoredInput) -> None:
    """A request refused before its job was recorded (credit short, media unreadable) leaves no file behind;
    a job that was recorded, even failed, keeps its input like any job."""
    session = deps.session
    await session.rollback()
    if await jobs_repository.reads_input(session, stored.asset_id):
        return
    asset = await session.get(ProviderResembleAsset, stored.asset_id)
    if asset is not None:
        await session.delete(asset)
        await session.commit()
    await storage_service.delete_quietly(deps.storage, stored.storage_key)


async def transcribe(
    deps: jobs_service.JobDeps,
    user_id: str,
    audio: AudioFile,
    model: Model,
    *,
    language: str | None,
    operation: str,
    idempotency_key: str | None,
) -> dict[str, Any]:
    """Submit the native STT job on `audio` and wait for it (see `submit_transcription`, `wait_for_transcript`)."""
    job = await submit_transcription(
        deps,
        user_id,
        audio,
        language=language,
        operation=operation,
        idempotency_key=idempotency_key,
        fingerprint={"model": model.id},
    )
    return await wait_for_transcript(deps, user_id, job)


async def wait_for_transcript(deps: jobs_service.JobDeps, user_id: str, job: dict[str, Any]) -> dict[str, Any]:
    """The job once it is completed (with its bill), within HUB_STT_WAIT_S; TranscriptionPending (504) past it,
    UpstreamError (502) naming Resemble's reason if the job failed (its hold was released: nothing is charged)."""
    wait_s = deps.settings.hub_stt_wait_s
    deadline = time.monotonic() + wait_s
    job_id = str(job["job_id"])
    while job["status"] not in ("completed", "failed"):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TranscriptionPending(job_id, wait_s)
        await deps.session.commit()  # hold no transaction (nor, on PostgreSQL, a connection) while waiting
        await asyncio.sleep(min(POLL_EVERY_S, remaining))
        job = await jobs_service.get(deps, STT, user_id, job_id)
    if job["status"] == "failed":
        reason = job.get("error") or "no reason given"
        raise UpstreamError(
            f"Transcription job {job_id} failed upstream: {reason}",
            extra={"code": "transcription_failed", "job_id": job_id},
        )
    return job


def stt_deps(resources: Resources, session: AsyncSession, account: Account) -> jobs_service.JobDeps:
    return jobs_service.job_deps(resources, session, account)


# --- the model catalogue ----------------------------------------------------------------------------------------

CAPABILITY_TYPES: Final = {"tts": "text-to-speech", "stt": "speech-to-text"}


def model_view(rate_card: RateCard, model: Model) -> dict[str, Any]:
    return {
        "id": model.id,
        "name": model.name,
        "provider": PROVIDER,
        "type": CAPABILITY_TYPES[model.capability],
        "capability": model.capability,
        "description": model.description,
        "aliases": list(model.aliases),
        "default": catalogue.DEFAULTS[model.capability] == model.id,
        "streaming": model.streaming,
        "pricing": catalogue.price_of(rate_card, model),
    }


def provider_view(rate_card: RateCard) -> dict[str, Any]:
    return {
        "id": PROVIDER,
        "name": PROVIDER_NAME,
        "description": PROVIDER_DESCRIPTION,
        "defaults": dict(catalogue.DEFAULTS),
        "models": [model_view(rate_card, model) for model in catalogue.MODELS],
    }


def provider_of(rate_card: RateCard, provider: str) -> dict[str, Any]:
    if provider.lower() != PROVIDER:
        raise NotFound(f"Provider {provider!r} not found; available providers: {PROVIDER}")
    return provider_view(rate_card)


def model_of(rate_card: RateCard, provider: str, name: str) -> dict[str, Any]:
    """One model by provider and name (`chatterbox`); 404 for anything else. `default` is one model per
    capability, so it is no single model: its 404 names what it stands for."""
    provider_of(rate_card, provider)
    wanted = name.lower()
    for model in catalogue.MODELS:
        if wanted in (model.name, model.id):
            return model_view(rate_card, model)
    if wanted == "default":
        defaults = ", ".join(f"{capability} {model_id}" for capability, model_id in catalogue.DEFAULTS.items())
        raise NotFound(f"Model {PROVIDER}/default is one model per capability ({defaults}); ask for one of them")
    offered = ", ".join(m.id for m in catalogue.MODELS)
    raise NotFound(f"Model {provider}/{name} not found; models available: {offered}")
