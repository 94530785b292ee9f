"""Watermarking on the app API (JSON; `Prefer: wait` answers only once the job has settled):
`POST /watermark/apply` + `GET /watermark/apply/{uuid}/result`, `POST /watermark/detect` + `GET
/watermark/detect/{uuid}/result`. Resemble defines no callback for these, so none is sent.

Applied watermarks are a marker the simulator embeds in its outputs (a private RIFF chunk in the WAV, a PNG tEXt
chunk, a JPEG comment, or a trailing MP4/WebM box); detection looks for it, so a file watermarked here (and copied
byte for byte anywhere) is detected as `present` and anything else as `absent`.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request

from .errors import SimulatorError
from .intake import (
    Input,
    base_url,
    enum_field,
    load_input,
    number_field,
    plan_job,
    read_body,
    store_wav_output,
    str_field,
    url_field,
    wants_wait,
)
from .jobs import Job, JobEngine, JobKind, Outcome, iso, media_url
from .media import (
    WATERMARK_MARKER,
    MediaType,
    has_watermark,
    png_image,
    watermark_jpeg,
    watermark_payload,
    watermark_png,
    watermark_video,
)
from .params import FieldErrors
from .state import get_state

router = APIRouter(prefix="/api/v2")

MODEL_VERSION = "perth_v2"
DEFAULT_MESSAGE = "resembleai"
DEFAULT_STRENGTH = 0.2
MAX_MESSAGE_CHARS = 64
PRESENT_CONFIDENCE = 0.97
ABSENT_CONFIDENCE = 0.03
ALL_MEDIA: tuple[MediaType, ...] = ("audio", "image", "video")
VisionState = Literal["present", "degraded", "absent"]

_EXTENSION_TYPES: dict[str, MediaType] = {
    **dict.fromkeys(("wav", "mp3", "m4a", "ogg", "flac", "aac", "opus"), "audio"),
    **dict.fromkeys(("png", "jpg", "jpeg", "webp", "avif"), "image"),
    **dict.fromkeys(("mp4", "mov", "webm", "mkv"), "video"),
}


def guess_media_type(url: str | None) -> MediaType:
    """For jobs whose input could not be read: the type the URL's extension suggests (audio by default)."""
    extension = (url or "").rsplit("?", 1)[0].rsplit(".", 1)[-1].lower()
    return _EXTENSION_TYPES.get(extension, "audio")


def audio_metrics(present: bool, channels: int) -> dict[str, Any]:
    confidence = PRESENT_CONFIDENCE if present else ABSENT_CONFIDENCE
    per_channel = {str(channel): present for channel in range(max(1, channels))}
    return {
        "overall_status": "present" if present else "absent",
        "detected_model_versions": [MODEL_VERSION] if present else [],
        "coverage_complete": True,
        "has_watermark": per_channel,
        "confidence": confidence,
        "model_results": [
            {
                "model_version": "perth_v1",
                "status": "succeeded",
                "detected": False,
                "has_watermark": dict.fromkeys(per_channel, False),
                "confidence": ABSENT_CONFIDENCE,
            },
            {
                "model_version": MODEL_VERSION,
                "status": "succeeded",
                "detected": present,
                "has_watermark": per_channel,
                "confidence": confidence,
            },
        ],
    }


def vision_metrics(state: VisionState) -> dict[str, Any]:
    detected = state != "absent"
    score = {"present": PRESENT_CONFIDENCE, "degraded": 0.55, "absent": ABSENT_CONFIDENCE}[state]
    return {
        "overall_status": state,
        "detected_model_versions": [MODEL_VERSION] if detected else [],
        "has_watermark": detected,
        "detection_score": score,
        "model_results": [
            {"model_version": MODEL_VERSION, "status": "succeeded", "detected": detected, "confidence": score}
        ],
        "verdict": {"present": "verified", "degraded": "degraded", "absent": "not_watermarked"}[state],
    }


def detection_facts(media: Input, message: str = DEFAULT_MESSAGE) -> dict[str, Any]:
    """What a watermark detector would find in `media` (stored on the job; the bytes are not kept)."""
    data = media.data or b""
    if media.info is not None and media.info.media_type == "audio":
        return {"watermark": "present" if has_watermark(data) else "absent", "channels": media.info.channels or 1}
    if watermark_payload(message) in data:
        found: VisionState = "present"
    elif WATERMARK_MARKER in data:
        found = "degraded"  # a watermark with another message
    else:
        found = "absent"
    return {"watermark": found, "channels": 1}


def detection_metrics(media_type: str | None, facts: dict[str, Any]) -> dict[str, Any]:
    if media_type == "audio":
        return audio_metrics(facts["watermark"] == "present", facts["channels"])
    return vision_metrics(facts["watermark"])


def _store_output(engine: JobEngine, media: Input, output_format: str, message: str) -> str | None:
    info, data = media.info, media.data
    if info is None or data is None:
        return None
    if info.media_type == "audio":
        return store_wav_output(engine, info, watermark=DEFAULT_MESSAGE)
    if info.media_type == "image":
        if info.container == "png":
            return engine.store_media("png", data=watermark_png(data, message))
        if output_format == "source":
            return engine.store_media("jpg", data=watermark_jpeg(data, message))
        return engine.store_media("png", data=watermark_png(png_image(), message))
    return engine.store_media(info.extension, data=watermark_video(data, info.container, message))


def watermark_item(engine: JobEngine, job: Job, base: str) -> dict[str, Any]:
    status = engine.status(job)
    media_type = job.data["media_type"]
    item: dict[str, Any] = {
        "uuid": job.uuid,
        "media_type": media_type,
        "operation_type": job.data["operation"],
        "status": status,
    }
    if job.kind == "watermark_apply" or media_type != "audio":
        item["model_version"] = MODEL_VERSION
    item["source_media_url"] = job.data["url"]
    if job.kind == "watermark_apply":
        output = job.data.get("output_token")
        item["watermarked_media"] = media_url(base, output) if status == "completed" and output else None
        if media_type == "audio":
            item["metrics"] = None
        else:
            message = job.data["custom_message"]
            item["metrics"] = {
                "strength": job.data["strength"],
                "custom_message": message,
                "message_bits_length": len(message.encode()) * 8,
            }
    else:
        item["metrics"] = detection_metrics(media_type, job.data) if status == "completed" else None
        item["watermarked_media"] = None
    item["created_at"] = iso(job.created_at)
    item["updated_at"] = iso(engine.updated_at(job))
    if status == "failed":
        item["error_message"] = job.error
    return item


async def _respond(request: Request, engine: JobEngine, job: Job) -> dict[str, Any]:
    if wants_wait(request):
        await engine.wait_settled(job)
    return {"success": True, "item": watermark_item(engine, job, base_url(request))}


@router.post("/watermark/apply")
async def apply_watermark(request: Request) -> dict[str, Any]:
    body = await read_body(request, form_allowed=False)
    errors = FieldErrors()
    url = url_field(body, "url", errors, required=True)
    output_format = enum_field(body, "output_format", errors, ("default", "source"), default="default")
    strength = number_field(body, "strength", errors, default=DEFAULT_STRENGTH, minimum=0, maximum=1)
    message = str_field(body, "custom_message", errors, max_len=MAX_MESSAGE_CHARS) or DEFAULT_MESSAGE
    errors.raise_if_any()
    assert url is not None
    assert output_format is not None

    state = get_state(request)
    engine = state.jobs
    media = await load_input(engine, accept=ALL_MEDIA, url=url)
    plan = plan_job(state, request, media.error)
    output = _store_output(engine, media, output_format, message) if plan.outcome != "fail" else None
    job = _new_job(engine, request, "watermark_apply", media, plan.outcome, plan.error)
    job.data.update({"operation": "apply", "output_token": output, "strength": strength, "custom_message": message})
    return await _respond(request, engine, job)


@router.post("/watermark/detect")
async def detect_watermark(request: Request) -> dict[str, Any]:
    body = await read_body(request, form_allowed=False)
    errors = FieldErrors()
    url = url_field(body, "url", errors, required=True)
    message = str_field(body, "custom_message", errors, max_len=MAX_MESSAGE_CHARS) or DEFAULT_MESSAGE
    errors.raise_if_any()
    assert url is not None

    state = get_state(request)
    engine = state.jobs
    media = await load_input(engine, accept=ALL_MEDIA, url=url)
    plan = plan_job(state, request, media.error)
    job = _new_job(engine, request, "watermark_detect", media, plan.outcome, plan.error)
    job.data.update({"operation": "detect", **detection_facts(media, message)})
    return await _respond(request, engine, job)


def _new_job(
    engine: JobEngine, request: Request, kind: JobKind, media: Input, outcome: Outcome, error: str | None
) -> Job:
    media_type = media.info.media_type if media.info is not None else guess_media_type(media.source_url)
    return engine.new_job(
        kind,
        base_url=base_url(request),
        outcome=outcome,
        error=error,
        data={"media_type": media_type, "url": media.source_url, "duration": media.duration},
    )


@router.get("/watermark/apply/{job_uuid}/result")
async def get_apply_result(request: Request, job_uuid: str) -> dict[str, Any]:
    return _get(request, "watermark_apply", job_uuid)


@router.get("/watermark/detect/{job_uuid}/result")
async def get_detect_result(request: Request, job_uuid: str) -> dict[str, Any]:
    return _get(request, "watermark_detect", job_uuid)


def _get(request: Request, kind: JobKind, job_uuid: str) -> dict[str, Any]:
    engine = get_state(request).jobs
    job = engine.get(kind, job_uuid)
    if job is None:
        raise SimulatorError(404, f"Watermark job {job_uuid} not found")
    return {"success": True, "item": watermark_item(engine, job, base_url(request))}
