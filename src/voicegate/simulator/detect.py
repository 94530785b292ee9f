"""Deepfake detection and what hangs off it, on the app API:

- `POST /secure_uploads` (multipart `file`) -> `{success, token}`: a `media_token` for detect and intelligence;
- `POST /detect` (JSON `url | media_token`, or multipart `file`) -> 200 `{success, item}`; `GET /detect/{uuid}`,
  `GET /detect` (paged);
- `POST /intelligence` (JSON `url | media_token | detect_id`) -> 200 once the report is ready, or 202 at once
  when `callback_url` is given; `GET /intelligences/{uuid}`, `GET /intelligences` (paged). The report has no
  status field: `description` is null until it is done, `error_message` is set if it failed;
- `GET /audio_source_tracings/{uuid}`, `GET /audio_source_tracings` (paged): produced by a detect run with
  `audio_source_tracing=true`; a report exists (and is listed with its `detect_uuid`) once that detect completed.

Scores are a deterministic function of the media bytes (`fake_score`): the same file always gets the same verdict.
"""

from __future__ import annotations

import math
import secrets
import zlib
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from .errors import SimulatorError
from .intake import (
    Body,
    FilePart,
    Input,
    Plan,
    base_url,
    bool_field,
    enum_field,
    file_field,
    load_input,
    number_field,
    page_query,
    paged,
    plan_job,
    read_body,
    str_field,
    token_upload,
    url_field,
    wants_wait,
)
from .jobs import Job, JobEngine, JobKind, Status, iso, media_url
from .media import MediaType, png_image
from .params import FieldErrors
from .state import SimulatorState, get_state
from .transcripts import filler_text
from .watermark import detection_facts, detection_metrics, guess_media_type

router = APIRouter(prefix="/api/v2")

ALL_MEDIA: tuple[MediaType, ...] = ("audio", "video", "image")
MODALITIES = ("audio", "video", "all")
DETECT_FLAGS = (
    "visualize",
    "intelligence",
    "audio_source_tracing",
    "detect_watermark",
    "use_ood_detector",
    "zero_retention_mode",
    "face_only",
    "wait_for_intelligence",
    "infer_from_intelligence",
    "signal",
    "use_reverse_search",
)
FAKE_THRESHOLD = 0.5
MAX_VIDEO_FRAMES = 10


def fake_score(data: bytes) -> float:
    """The detector's verdict on `data` in [0, 1); `fake` from 0.5 up. Deterministic per file."""
    return (zlib.crc32(data) % 10_000) / 10_000


def _label(score: float) -> str:
    return "fake" if score >= FAKE_THRESHOLD else "real"


def _jitter(seed: int, index: int) -> float:
    return ((zlib.crc32(f"{seed}:{index}".encode()) % 2001) - 1000) / 1000


def _visible(status: Status) -> Status:
    """Detect and its intelligence results have no `pending`: they are `processing` from the start."""
    return "processing" if status == "pending" else status


def _certainty(score: float) -> dict[str, Any]:
    certainty = round(abs(score - FAKE_THRESHOLD) * 2, 4)
    return {"certainty": certainty, "certainty (%)": f"{certainty * 100:.1f}%"}


# report builders


def audio_metrics(score: float, seed: int, duration: float, frame_length: int) -> dict[str, Any]:
    chunks = max(1, math.ceil(duration / frame_length))
    scores = [min(1.0, max(0.0, score + 0.05 * _jitter(seed, i))) for i in range(chunks)]
    spread = max(scores) - min(scores)
    return {
        "label": _label(score),
        "score": [f"{value:.4f}" for value in scores],
        "consistency": f"{1 - spread:.4f}",
        "aggregated_score": f"{score:.4f}",
    }


def video_metrics(score: float, seed: int, duration: float) -> dict[str, Any]:
    conclusion = "Fake" if score >= FAKE_THRESHOLD else "Real"
    count = max(1, min(MAX_VIDEO_FRAMES, math.ceil(duration)))
    frames = []
    for i in range(count):
        frame_score = round(min(1.0, max(0.0, score + 0.05 * _jitter(seed, 1000 + i))), 4)
        face = {"type": "face", "conclusion": conclusion, "score": frame_score, **_certainty(frame_score)}
        frames.append(
            {
                "type": "frame",
                "conclusion": conclusion,
                "score": frame_score,
                **_certainty(frame_score),
                "timestamp": round(i * duration / count, 3),
                "children": [face],
            }
        )
    rounded = round(score, 4)
    video = {"type": "video", "conclusion": conclusion, "score": rounded, **_certainty(score), "children": frames}
    return {
        "label": _label(score),
        "score": rounded,
        "certainty": _certainty(score)["certainty"],
        "treeview": None,
        "children": [video],
    }


def intelligence_description(media_type: str, duration: float | None, score: float) -> dict[str, Any]:
    fake = score >= FAKE_THRESHOLD
    confidence = round(abs(score - FAKE_THRESHOLD) * 200, 1)
    seconds = f"{duration:.1f}-second " if duration else ""
    has_speech = media_type != "image" and bool(duration)
    return {
        "speaker_info": "One adult speaker" if has_speech else "No speaker (still image)",
        "language": "English" if has_speech else "",
        "dialect": "General American English" if has_speech else "",
        "emotion": "Neutral",
        "speaking_style": "Conversational, steady pace" if has_speech else "",
        "context": f"Simulated analysis of a {seconds}{media_type} file",
        "message": "Filler speech with no request or claim" if has_speech else "No text or speech",
        "abnormalities": "Uniform spectral envelope typical of synthetic media" if fake else "None detected",
        "transcription": filler_text(duration) if has_speech and duration else "",
        "translation": None,
        "misinformation": "None detected",
        "fraud": {"type": "none", "confidence": 5.0, "reasoning": "No persuasion, payment or identity request"},
        "liveness": {
            "assessment": "not_real_person" if fake else "real_person",
            "confidence": confidence,
            "indicators": "Synthetic prosody" if fake else "Natural breathing and timing",
        },
        "digitally_altered": {
            "detected": fake,
            "confidence": confidence,
            "alterations": "Fully generated media" if fake else "None",
        },
    }


# items


def intelligence_item(engine: JobEngine, job: Job, *, embedded: bool = False) -> dict[str, Any]:
    status = engine.status(job)
    description = None
    if status == "completed":
        description = intelligence_description(job.data["media_type"], job.data["duration"], job.data["score"])
    if embedded:
        return {
            "uuid": job.uuid,
            "status": _visible(status),
            "error_message": job.error if status == "failed" else None,
            "description": description,
            "created_at": iso(job.created_at),
            "detect_uuid": job.data["detect_uuid"],
        }
    return {
        "uuid": job.uuid,
        "description": description,
        "created_at": iso(job.created_at),
        "detect_uuid": job.data["detect_uuid"],
        "media_type": job.data["media_type"],
        "error_message": job.error if status == "failed" else None,
    }


def tracing_item(engine: JobEngine, job: Job) -> dict[str, Any]:
    label = "resemble_ai" if job.data["score"] >= FAKE_THRESHOLD else "real"
    return {
        "uuid": job.uuid,
        "results": {"label": label, "error_message": None},
        "created_at": iso(engine.updated_at(job)),
        "detect_uuid": job.data["detect_uuid"],
    }


def detect_item(engine: JobEngine, job: Job, base: str, *, experts: bool = False) -> dict[str, Any]:
    data = job.data
    status = engine.status(job)
    done = status == "completed"
    media_type = data["media_type"]
    modality = data["modality"]
    duration = data["duration"] or 0.0
    zrm = data["zero_retention_mode"]
    item: dict[str, Any] = {
        "uuid": job.uuid,
        "status": _visible(status),
        "media_type": media_type,
        "modality": modality,
        "face_only": data["face_only"] and media_type == "video" and modality != "audio",
        "url": None if zrm else data["url"],
        "audio_url": None if zrm else data["url"],
        "filename": data["filename"],
        "duration": (duration if media_type != "image" else 0.0) if done else None,
        "zero_retention_mode": zrm,
        "file_deleted_at": iso(engine.updated_at(job)) if zrm and status in {"completed", "failed"} else None,
        "visualize": data["visualize"],
        "audio_source_tracing_enabled": data["audio_source_tracing"],
        "use_ood_detector": data["use_ood_detector"],
        "extra_params": {},
        "error_message": job.error if status == "failed" else None,
    }
    if done:
        score, seed = data["score"], data["seed"]
        visual = media_url(base, data["visual_token"]) if data.get("visual_token") else None
        if media_type == "audio" or (media_type == "video" and modality != "video"):
            item["metrics"] = audio_metrics(score, seed, duration, data["frame_length"])
            if visual is not None:
                item["metrics"]["image"] = visual
        if media_type == "video" and modality != "audio":
            item["video_metrics"] = video_metrics(score, seed, duration)
        if media_type == "image":
            item["image_metrics"] = {
                "type": "image",
                "label": _label(score),
                "image": visual or media_url(base, data["image_token"]),
                "score": round(score, 4),
                "children": [],
            }
        item["c2pa_manifest"] = {
            "validation_state": "NotPresent",
            "active_manifest": None,
            "manifests": None,
            "validation_results": None,
            "message": None,
        }
    tracing = engine.get("tracing", data["tracing_uuid"]) if data.get("tracing_uuid") else None
    item["audio_source_tracing"] = (
        tracing_item(engine, tracing)["results"] if tracing and engine.status(tracing) == "completed" else None
    )
    intelligence = engine.get("intelligence", data["intelligence_uuid"]) if data.get("intelligence_uuid") else None
    embedded = intelligence_item(engine, intelligence, embedded=True) if intelligence is not None else None
    if experts:
        item["intelligence"] = [embedded] if embedded is not None and embedded["status"] == "completed" else []
    else:
        item["intelligence"] = embedded
    if data["detect_watermark"]:
        watermark: dict[str, Any] = {"status": status}
        if done:
            watermark["metrics"] = detection_metrics(media_type, data)
        item["watermark"] = watermark
    item["created_at"] = iso(job.created_at)
    item["updated_at"] = iso(engine.updated_at(job))
    return item


# secure uploads


@router.post("/secure_uploads")
async def secure_upload(request: Request) -> dict[str, Any]:
    body = await read_body(request, json_allowed=False)
    errors = FieldErrors()
    part = file_field(body, "file", errors, required=True)
    errors.raise_if_any()
    assert part is not None
    return {"success": True, "token": get_state(request).jobs.add_upload(part.data, part.filename, part.content_type)}


# detect


def _one_source(body: Body, engine: JobEngine, errors: FieldErrors) -> tuple[FilePart | None, str | None]:
    """Exactly one of the multipart `file`, `url` or `media_token`: (bytes, or the URL to fetch)."""
    names = ("file", "url", "media_token")
    part = file_field(body, "file", errors)
    url = url_field(body, "url", errors)
    token = str_field(body, "media_token", errors)
    given = [name for name, value in (("file", part), ("url", url), ("media_token", token)) if value is not None]
    if not given and not errors.errors:
        errors.add(names[0], f"one of {', '.join(names)} is required")
    elif len(given) > 1:
        errors.add(given[1], f"provide exactly one of {', '.join(names)}")
    if token is not None and len(given) == 1:
        part = token_upload(engine, token, errors)
    return part, url


def _new_linked(engine: JobEngine, detect: Job, kind: JobKind, plan: Plan, data: dict[str, Any]) -> Job:
    return engine.new_job(
        kind,
        base_url=detect.base_url,
        outcome=plan.outcome,
        error=plan.error,
        data={"detect_uuid": detect.uuid, **data},
        started=detect.started,
        created_at=detect.created_at,
        billed=False,
    )


def _media_facts(media: Input, media_type: str | None = None) -> dict[str, Any]:
    data = media.data or b""
    info = media.info
    return {
        "media_type": media_type or (info.media_type if info is not None else guess_media_type(media.source_url)),
        "duration": info.duration if info is not None else None,
        "score": fake_score(data),
        "seed": zlib.crc32(data),
    }


@router.post("/detect")
async def create_detect(request: Request) -> dict[str, Any]:
    body = await read_body(request)
    state = get_state(request)
    engine = state.jobs
    errors = FieldErrors()
    part, url = _one_source(body, engine, errors)
    callback_url = url_field(body, "callback_url", errors)
    flags = {flag: bool_field(body, flag, errors) for flag in DETECT_FLAGS}
    frame_length = number_field(body, "frame_length", errors, default=2, minimum=1, maximum=4, integer=True)
    for name in ("start_region", "end_region", "max_video_secs"):
        number_field(body, name, errors, minimum=0)
    modality = enum_field(body, "modality", errors, MODALITIES, default="all")
    errors.raise_if_any()

    media = await load_input(engine, accept=ALL_MEDIA, part=part, url=url)
    plan = plan_job(state, request, media.error)
    facts = _media_facts(media)
    filename = media.filename or f"upload.{media.info.extension if media.info else 'bin'}"
    if flags["zero_retention_mode"]:
        filename = _redacted(filename)
    tokens: dict[str, str | None] = {"visual_token": None, "image_token": None}
    if plan.outcome != "fail":
        if flags["visualize"]:
            tokens["visual_token"] = engine.store_media("png", data=png_image())
        if facts["media_type"] == "image":
            tokens["image_token"] = media.input_token or engine.store_media("png", data=png_image())
    job = engine.new_job(
        "detect",
        base_url=base_url(request),
        outcome=plan.outcome,
        error=plan.error,
        data={
            **flags,
            **facts,
            **tokens,
            **detection_facts(media),
            "url": media.url(base_url(request)),
            "filename": filename,
            "modality": modality,
            "frame_length": int(frame_length or 2),
        },
        callback_url=callback_url,
        callback_repeat=plan.callback_repeat,
    )
    if flags["intelligence"]:
        job.data["intelligence_uuid"] = _new_linked(engine, job, "intelligence", plan, facts).uuid
    if flags["audio_source_tracing"] and facts["media_type"] != "image":
        job.data["tracing_uuid"] = _new_linked(engine, job, "tracing", plan, facts).uuid
    job.body = lambda job, base: {"success": True, "item": detect_item(engine, job, base)}
    engine.schedule_callback(job)
    if wants_wait(request):
        await engine.wait_settled(job)
    return {"success": True, "item": detect_item(engine, job, base_url(request))}


def _redacted(filename: str) -> str:
    """Zero Retention Mode hides the file name: `redacted_<token>.<ext>`."""
    extension = filename.rsplit(".", 1)[-1] if "." in filename else "bin"
    return f"redacted_{secrets.token_hex(8)}.{extension}"


@router.get("/detect")
async def list_detects(request: Request) -> dict[str, Any]:
    page, size = page_query(request.query_params)
    engine = get_state(request).jobs
    return paged([detect_item(engine, job, base_url(request)) for job in engine.jobs("detect")], page, size)


@router.get("/detect/{detect_uuid}")
async def get_detect(request: Request, detect_uuid: str) -> dict[str, Any]:
    engine = get_state(request).jobs
    job = engine.get("detect", detect_uuid)
    if job is None:
        raise SimulatorError(404, f"Detect {detect_uuid} not found")
    experts = request.query_params.get("experts", "").lower() in {"true", "1"}
    return {"success": True, "item": detect_item(engine, job, base_url(request), experts=experts)}


@router.delete("/detect/{detect_uuid}")
async def delete_detect(request: Request, detect_uuid: str) -> dict[str, Any]:
    """Removes the detect from list and get (its linked intelligence and tracing reports stay readable)."""
    if not get_state(request).jobs.remove("detect", detect_uuid):
        raise SimulatorError(404, f"Detect {detect_uuid} not found")
    return {"success": True, "message": "Detect deleted"}


# intelligence


async def _intelligence_input(
    state: SimulatorState, request: Request, body: Body
) -> tuple[dict[str, Any], Plan, str | None]:
    engine = state.jobs
    errors = FieldErrors()
    url = url_field(body, "url", errors)
    token = str_field(body, "media_token", errors)
    detect_id = str_field(body, "detect_id", errors)
    media_type = enum_field(body, "media_type", errors, ALL_MEDIA, default=None)
    if url is None and token is None and detect_id is None and not errors.errors:
        errors.add("url", "one of url, media_token or detect_id is required")
    if url is not None and token is not None:
        errors.add("media_token", "provide either url or media_token, not both")
    part = token_upload(engine, token, errors)
    detect = engine.get("detect", detect_id) if detect_id is not None else None
    if detect_id is not None and detect is None:
        errors.add("detect_id", "was not found")
    errors.raise_if_any()

    if part is not None or url is not None:
        media = await load_input(engine, accept=ALL_MEDIA, part=part, url=url, keep_copy=False)
        facts = _media_facts(media, media_type)
        plan = plan_job(state, request, media.error)
    else:
        assert detect is not None
        facts = {key: detect.data[key] for key in ("media_type", "duration", "score", "seed")}
        if media_type is not None:
            facts["media_type"] = media_type
        plan = plan_job(state, request, detect.error if detect.outcome == "fail" else None)
    return facts, plan, detect.uuid if detect is not None else None


@router.post("/intelligence")
async def create_intelligence(request: Request) -> JSONResponse:
    body = await read_body(request, form_allowed=False)
    errors = FieldErrors()
    callback_url = url_field(body, "callback_url", errors)
    errors.raise_if_any()
    state = get_state(request)
    engine = state.jobs
    facts, plan, detect_uuid = await _intelligence_input(state, request, body)
    job = engine.new_job(
        "intelligence",
        base_url=base_url(request),
        outcome=plan.outcome,
        error=plan.error,
        data={**facts, "detect_uuid": detect_uuid},
        callback_url=callback_url,
        callback_repeat=plan.callback_repeat,
    )
    job.body = lambda job, _base: {"success": True, "item": intelligence_item(engine, job)}
    if callback_url is not None:
        engine.schedule_callback(job)
        return JSONResponse({"success": True, "item": intelligence_item(engine, job)}, status_code=202)
    await engine.wait_settled(job)
    return JSONResponse({"success": True, "item": intelligence_item(engine, job)})


@router.get("/intelligences")
async def list_intelligences(request: Request) -> dict[str, Any]:
    page, size = page_query(request.query_params)
    engine = get_state(request).jobs
    return paged([intelligence_item(engine, job) for job in engine.jobs("intelligence")], page, size)


@router.get("/intelligences/{intelligence_uuid}")
async def get_intelligence(request: Request, intelligence_uuid: str) -> dict[str, Any]:
    engine = get_state(request).jobs
    job = engine.get("intelligence", intelligence_uuid)
    if job is None:
        raise SimulatorError(404, f"Intelligence {intelligence_uuid} not found")
    return {"success": True, "item": intelligence_item(engine, job)}


# audio source tracing


def _completed_tracings(engine: JobEngine) -> list[Job]:
    return [job for job in engine.jobs("tracing") if engine.status(job) == "completed"]


@router.get("/audio_source_tracings")
async def list_tracings(request: Request) -> dict[str, Any]:
    page, size = page_query(request.query_params)
    engine = get_state(request).jobs
    return paged([tracing_item(engine, job) for job in _completed_tracings(engine)], page, size)


@router.get("/audio_source_tracings/{tracing_uuid}")
async def get_tracing(request: Request, tracing_uuid: str) -> dict[str, Any]:
    engine = get_state(request).jobs
    job = engine.get("tracing", tracing_uuid)
    if job is None or engine.status(job) != "completed":
        raise SimulatorError(404, f"Audio source tracing {tracing_uuid} not found")
    return {"success": True, "item": tracing_item(engine, job)}
