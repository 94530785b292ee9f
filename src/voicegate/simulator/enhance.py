"""Audio enhancement on the app API (multipart): `POST /audio_enhancements` answers 202 with a FLAT body, and
`GET /audio_enhancements/{uuid}` is flat too (no `item` envelope). The output is a real WAV of the input's duration."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from .errors import SimulatorError
from .intake import (
    base_url,
    bool_field,
    file_field,
    load_input,
    page_query,
    paged,
    plan_job,
    read_body,
    store_wav_output,
)
from .jobs import Job, JobEngine, media_url
from .params import FieldErrors
from .state import get_state

router = APIRouter(prefix="/api/v2")

FLAGS = ("remove_noise", "normalize", "studio_sound")


def enhancement_item(engine: JobEngine, job: Job, base: str) -> dict[str, Any]:
    status = engine.status(job)
    output = job.data.get("output_token")
    return {
        "uuid": job.uuid,
        "status": status,
        "enhanced_audio_url": media_url(base, output) if status == "completed" and output else None,
        "error_message": job.error if status == "failed" else None,
    }


@router.post("/audio_enhancements", status_code=202)
async def create_enhancement(request: Request) -> JSONResponse:
    body = await read_body(request, json_allowed=False)
    errors = FieldErrors()
    part = file_field(body, "audio_file", errors, required=True)
    flags = {flag: bool_field(body, flag, errors, default=True) for flag in FLAGS}
    errors.raise_if_any()
    assert part is not None

    state = get_state(request)
    engine = state.jobs
    media = await load_input(engine, accept=("audio", "video"), part=part)
    plan = plan_job(state, request, media.error)
    output = store_wav_output(engine, media.info) if plan.outcome != "fail" else None
    job = engine.new_job(
        "enhance",
        base_url=base_url(request),
        outcome=plan.outcome,
        error=plan.error,
        data={**flags, "input_token": media.input_token, "output_token": output, "duration": media.duration},
    )
    return JSONResponse({"success": True, "uuid": job.uuid, "status": "pending"}, status_code=202)


@router.get("/audio_enhancements")
async def list_enhancements(request: Request) -> dict[str, Any]:
    page, size = page_query(request.query_params)
    engine = get_state(request).jobs
    base = base_url(request)
    items = []
    for job in engine.jobs("enhance"):
        item = enhancement_item(engine, job, base)
        item.update({flag: job.data[flag] for flag in FLAGS})
        token = job.data.get("input_token")
        item["original_audio_url"] = media_url(base, token) if token else None
        items.append(item)
    return paged(items, page, size)


@router.get("/audio_enhancements/{enhancement_uuid}")
async def get_enhancement(request: Request, enhancement_uuid: str) -> dict[str, Any]:
    engine = get_state(request).jobs
    job = engine.get("enhance", enhancement_uuid)
    if job is None:
        raise SimulatorError(404, f"Audio enhancement {enhancement_uuid} not found")
    return {"success": True, **enhancement_item(engine, job, base_url(request))}
