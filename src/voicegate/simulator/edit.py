"""Audio edit (speech inpainting) on the app API: `POST /edit`, `GET /edit/{uuid}`, `GET /edit`.

The item has NO status field (as in Resemble's docs and SDKs): `result_audio_url` is null until the edit is done,
`error` is null or a message. The create call is multipart (`input_audio` file); a JSON body (or a form field)
with `input_audio` as a URL is accepted too. `callback_uri` receives the GET body when the edit settles.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from .errors import SimulatorError
from .intake import (
    FilePart,
    base_url,
    file_field,
    is_http_url,
    load_input,
    page_query,
    paged,
    plan_job,
    read_body,
    store_wav_output,
    str_field,
    url_field,
)
from .jobs import Job, JobEngine, media_url
from .params import FieldErrors
from .state import get_state
from .synthesis import tone_for_voice

router = APIRouter(prefix="/api/v2")

MAX_INPUT_S = 20.0
TEXT_FIELDS = ("original_transcript", "target_transcript", "voice_uuid")


def edit_item(engine: JobEngine, job: Job, base: str) -> dict[str, Any]:
    status = engine.status(job)
    output = job.data.get("output_token")
    return {
        "uuid": job.uuid,
        "voice_uuid": job.data["voice_uuid"],
        "original_transcript": job.data["original_transcript"],
        "target_transcript": job.data["target_transcript"],
        "input_audio_url": job.data["input_url"],
        "result_audio_url": media_url(base, output) if status == "completed" and output else None,
        "error": job.error if status == "failed" else None,
    }


@router.post("/edit")
async def create_edit(request: Request) -> dict[str, Any]:
    body = await read_body(request)
    errors = FieldErrors()
    part: FilePart | None = None
    url: str | None = None
    if "input_audio" in body.files:
        part = file_field(body, "input_audio", errors, required=True)
    elif isinstance(body.fields.get("input_audio"), str) and is_http_url(body.fields["input_audio"]):
        url = body.fields["input_audio"]
    else:
        file_field(body, "input_audio", errors, required=True)
    texts = {name: str_field(body, name, errors, required=True) for name in TEXT_FIELDS}
    callback_uri = url_field(body, "callback_uri", errors)
    errors.raise_if_any()

    state = get_state(request)
    voice_uuid = texts["voice_uuid"]
    assert voice_uuid is not None
    if state.voice(voice_uuid) is None:
        raise SimulatorError(400, f"Voice {voice_uuid} not found", errors={"voice_uuid": ["was not found"]})

    engine = state.jobs
    media = await load_input(engine, accept=("audio",), part=part, url=url)
    error = media.error
    if error is None and media.info is not None and (media.info.duration or 0) >= MAX_INPUT_S:
        error = f"Input audio must be shorter than {MAX_INPUT_S:g} seconds"
    plan = plan_job(state, request, error)
    output = (
        store_wav_output(engine, media.info, tone_hz=tone_for_voice(voice_uuid)) if plan.outcome != "fail" else None
    )
    job = engine.new_job(
        "edit",
        base_url=base_url(request),
        outcome=plan.outcome,
        error=plan.error,
        data={**texts, "input_url": media.url(base_url(request)), "output_token": output, "duration": media.duration},
        callback_url=callback_uri,
        callback_repeat=plan.callback_repeat,
    )
    job.body = lambda job, base: {"success": True, "item": edit_item(engine, job, base)}
    engine.schedule_callback(job)
    return {"success": True, "item": edit_item(engine, job, base_url(request))}


@router.get("/edit")
async def list_edits(request: Request) -> dict[str, Any]:
    page, size = page_query(request.query_params)
    engine = get_state(request).jobs
    body = paged([edit_item(engine, job, base_url(request)) for job in engine.jobs("edit")], page, size)
    # Resemble's docs and its OpenAPI export disagree on the list envelope: send both spellings.
    body["total_results"] = body["total_count"]
    body["page_count"] = body["num_pages"]
    return body


@router.get("/edit/{edit_uuid}")
async def get_edit(request: Request, edit_uuid: str) -> dict[str, Any]:
    engine = get_state(request).jobs
    job = engine.get("edit", edit_uuid)
    if job is None:
        raise SimulatorError(404, f"Audio edit {edit_uuid} not found")
    return {"success": True, "item": edit_item(engine, job, base_url(request))}
