"""Speech-to-text on the app API: `POST /speech-to-text` (multipart), `GET /speech-to-text/{uuid}`, and the list
with its own `meta` pagination. The transcript is deterministic filler text spread over the input's duration."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from .errors import SimulatorError
from .intake import (
    base_url,
    bool_field,
    file_field,
    load_input,
    page_query,
    page_slice,
    plan_job,
    read_body,
    str_field,
    url_field,
)
from .jobs import Job, JobEngine, iso, media_url
from .params import FieldErrors
from .state import get_state

router = APIRouter(prefix="/api/v2")

MAX_DURATION_S = 20 * 60
WORDS_PER_SECOND = 2.5
_FILLER = (
    *("the", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog", "while", "a", "simulated"),
    *("speaker", "reads", "a", "steady", "stream", "of", "words", "so", "that", "every", "transcript"),
    *("has", "plausible", "text", "and", "timings", "for", "testing"),
)


def filler_words(duration: float, speakers: int = 1) -> list[dict[str, Any]]:
    """Words evenly spread over `duration`, each taking 80% of its slot; speakers alternate every 12 words."""
    count = max(1, round(duration * WORDS_PER_SECOND))
    step = duration / count
    return [
        {
            "text": _FILLER[i % len(_FILLER)],
            "start_time": round(i * step, 3),
            "end_time": round((i + 0.8) * step, 3),
            "speaker_id": str((i // 12) % speakers),
        }
        for i in range(count)
    ]


def filler_text(duration: float) -> str:
    return " ".join(word["text"] for word in filler_words(duration))


def _duration(job: Job) -> float | None:
    value = job.data.get("duration")
    return float(value) if value is not None else None


def transcript_item(engine: JobEngine, job: Job, base: str) -> dict[str, Any]:
    status = engine.status(job)
    done = status == "completed"
    duration = _duration(job) if done else None
    query = job.data.get("query")
    words = filler_words(duration) if duration is not None else []
    token = job.data.get("input_token")
    item: dict[str, Any] = {
        "uuid": job.uuid,
        "status": status,
        "text": " ".join(word["text"] for word in words) if done else None,
        "words": words,
        "duration_seconds": duration,
        "file_url": media_url(base, token) if token else None,
        "query": query,
        "answer": f"Simulated answer to: {query}" if done and query else None,
        "privacy_mode": job.data["privacy_mode"],
        "file_deleted_at": None,
        "content_deleted_at": None,
        "created_at": iso(job.created_at),
        "updated_at": iso(engine.updated_at(job)),
    }
    if status == "failed":
        item["error_message"] = job.error
    return item


@router.post("/speech-to-text")
async def create_transcript(request: Request) -> dict[str, Any]:
    body = await read_body(request, json_allowed=False)
    errors = FieldErrors()
    part = file_field(body, "file", errors, required=True)
    query = str_field(body, "query", errors)
    callback_url = url_field(body, "callback_url", errors)
    privacy = bool_field(body, "zero_retention_mode", errors) or bool_field(body, "privacy_mode", errors)
    if privacy and callback_url is None:
        errors.add("callback_url", "is required when zero_retention_mode is true")
    errors.raise_if_any()
    assert part is not None

    state = get_state(request)
    engine = state.jobs
    media = await load_input(engine, accept=("audio", "video"), part=part)
    error = media.error
    if error is None and media.info is not None and (media.info.duration or 0) > MAX_DURATION_S:
        error = f"Media is longer than {MAX_DURATION_S // 60} minutes"
    plan = plan_job(state, request, error)
    job = engine.new_job(
        "stt",
        base_url=base_url(request),
        outcome=plan.outcome,
        error=plan.error,
        data={
            "duration": media.info.duration if media.info is not None else None,
            "query": query,
            "privacy_mode": privacy,
            "input_token": media.input_token,
        },
        callback_url=callback_url,
        callback_repeat=plan.callback_repeat,
    )
    job.body = lambda job, base: {"success": True, "item": transcript_item(engine, job, base)}
    engine.schedule_callback(job)
    return {
        "success": True,
        "item": {
            "uuid": job.uuid,
            "status": engine.status(job),
            "privacy_mode": privacy,
            "created_at": iso(job.created_at),
            "updated_at": iso(engine.updated_at(job)),
        },
    }


@router.get("/speech-to-text")
async def list_transcripts(request: Request) -> dict[str, Any]:
    page, per_page = page_query(request.query_params, size_name="per_page", default=25, minimum=1, maximum=50)
    engine = get_state(request).jobs
    jobs = engine.jobs("stt")
    chunk, total_pages = page_slice(jobs, page, per_page)
    items = []
    for job in chunk:
        full = transcript_item(engine, job, base_url(request))
        items.append({key: full[key] for key in ("uuid", "status", "duration_seconds", "created_at", "updated_at")})
    return {
        "success": True,
        "items": items,
        "meta": {"page": page, "per_page": per_page, "total_pages": total_pages, "total_items": len(jobs)},
    }


@router.get("/speech-to-text/{transcript_uuid}")
async def get_transcript(request: Request, transcript_uuid: str) -> dict[str, Any]:
    engine = get_state(request).jobs
    job = engine.get("stt", transcript_uuid)
    if job is None:
        raise SimulatorError(404, f"Transcript {transcript_uuid} not found")
    return {"success": True, "item": transcript_item(engine, job, base_url(request))}
