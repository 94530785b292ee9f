"""Projects and their clips on the app API (`/api/v2/projects[/{uuid}[/clips[/{uuid}]]]`).

Project create needs all four of `name, description, is_collaborative, is_archived` (RESEMBLE_API.md section 3).
Clip create without `callback_uri` is synchronous: the clip is rendered at once and its item carries `audio_src`
(a signed link), its `duration`, and with `raw: true` the audio itself as base64 `raw_audio` (supplement section 5).
"""

from __future__ import annotations

import base64
from typing import Any

from fastapi import APIRouter, Request

from .accounts import account_of, new_uuid, now_iso
from .audio import OUTPUT_FORMATS, PRECISIONS, render
from .bodies import VALIDATION_STATUS, bool_field, json_object, paged, required_str, string_field
from .errors import SimulatorError
from .jobs import media_url
from .params import FieldErrors
from .state import get_state
from .synthesis import synthesis_duration, tone_for_voice

router = APIRouter(prefix="/api/v2")

CLIP_SAMPLE_RATES = (8000, 16000, 22050, 44100)
CLIP_DEFAULT_SAMPLE_RATE = 22050
MAX_CLIP_BODY_CHARS = 3000


def _project_fields(body: dict[str, Any], *, required: bool) -> dict[str, Any]:
    errors = FieldErrors()
    fields = {
        "name": string_field(body, "name", errors, required=required, max_length=255),
        "description": string_field(body, "description", errors, required=required, max_length=2000),
        "is_collaborative": bool_field(body, "is_collaborative", errors, required=required),
        "is_archived": bool_field(body, "is_archived", errors, required=required),
    }
    if isinstance(fields["name"], str) and not fields["name"].strip():
        errors.add("name", "can't be blank")
    errors.raise_if_any(VALIDATION_STATUS)
    return {key: value for key, value in fields.items() if value is not None}


def _project(request: Request, project_uuid: str) -> dict[str, Any]:
    found = account_of(request).projects.get(project_uuid)
    if found is None:
        raise SimulatorError(404, f"Project {project_uuid} not found")
    return found


@router.get("/projects")
async def list_projects(request: Request) -> dict[str, Any]:
    return paged(request, account_of(request).projects.all())


@router.post("/projects")
async def create_project(request: Request) -> dict[str, Any]:
    fields = _project_fields(await json_object(request), required=True)
    stamp = now_iso()
    item = {"uuid": new_uuid(), **fields, "created_at": stamp, "updated_at": stamp}
    return {"success": True, "item": account_of(request).projects.add(item["uuid"], item)}


@router.get("/projects/{project_uuid}")
async def get_project(request: Request, project_uuid: str) -> dict[str, Any]:
    return {"success": True, "item": _project(request, project_uuid)}


@router.put("/projects/{project_uuid}")
async def update_project(request: Request, project_uuid: str) -> dict[str, Any]:
    _project(request, project_uuid)
    fields = _project_fields(await json_object(request), required=False)
    item = account_of(request).projects.update(project_uuid, {**fields, "updated_at": now_iso()})
    if item is None:
        raise SimulatorError(404, f"Project {project_uuid} not found")
    return {"success": True, "item": item}


@router.delete("/projects/{project_uuid}")
async def delete_project(request: Request, project_uuid: str) -> dict[str, Any]:
    account = account_of(request)
    if account.projects.remove(project_uuid) is None:
        raise SimulatorError(404, f"Project {project_uuid} not found")
    account.drop_project(project_uuid)
    return {"success": True, "message": "Project deleted"}


@router.get("/projects/{project_uuid}/clips")
async def list_clips(request: Request, project_uuid: str) -> dict[str, Any]:
    _project(request, project_uuid)
    return paged(request, account_of(request).clips(project_uuid).all())


def _clip_request(body: dict[str, Any], request: Request) -> dict[str, Any]:
    errors = FieldErrors()
    text = required_str(body, "body", errors, max_length=MAX_CLIP_BODY_CHARS)
    voice_uuid = required_str(body, "voice_uuid", errors, max_length=64)
    title = string_field(body, "title", errors, required=False, max_length=255)
    sample_rate = body.get("sample_rate", CLIP_DEFAULT_SAMPLE_RATE) or CLIP_DEFAULT_SAMPLE_RATE
    if isinstance(sample_rate, str) and sample_rate.isdigit():
        sample_rate = int(sample_rate)
    if sample_rate not in CLIP_SAMPLE_RATES or isinstance(sample_rate, bool):
        errors.add("sample_rate", f"must be one of {', '.join(map(str, CLIP_SAMPLE_RATES))}")
    precision = body.get("precision") or "PCM_32"
    if precision not in PRECISIONS:
        errors.add("precision", f"must be one of {', '.join(PRECISIONS)}")
    output_format = body.get("output_format") or "wav"
    if output_format not in OUTPUT_FORMATS:
        errors.add("output_format", f"must be one of {', '.join(OUTPUT_FORMATS)}")
    is_archived = bool_field(body, "is_archived", errors, required=False) or False
    raw = bool_field(body, "raw", errors, required=False) or False
    if voice_uuid and get_state(request).voice(voice_uuid) is None:
        errors.add("voice_uuid", "was not found")
    errors.raise_if_any(VALIDATION_STATUS)
    return {
        "body": text,
        "voice_uuid": voice_uuid,
        "title": title,
        "sample_rate": sample_rate,
        "precision": precision,
        "output_format": output_format,
        "is_archived": is_archived,
        "raw": raw,
        "callback_uri": body.get("callback_uri"),
    }


@router.post("/projects/{project_uuid}/clips")
async def create_clip(request: Request, project_uuid: str) -> dict[str, Any]:
    _project(request, project_uuid)
    req = _clip_request(await json_object(request), request)
    state = get_state(request)
    duration = synthesis_duration(req["body"], state.settings.seconds_per_char)
    audio = render(
        duration,
        sample_rate=req["sample_rate"],
        precision=req["precision"],
        output_format=req["output_format"],
        tone_hz=tone_for_voice(req["voice_uuid"]),
    )
    token = state.jobs.store_media(audio.output_format, data=audio.data)
    voice = state.voice(req["voice_uuid"]) or {}
    stamp = now_iso()
    item: dict[str, Any] = {
        "uuid": new_uuid(),
        "title": req["title"],
        "body": req["body"],
        "voice_uuid": req["voice_uuid"],
        "voice_name": voice.get("name"),
        "is_archived": req["is_archived"],
        "audio_src": media_url(str(request.base_url), token),
        "character_count": len(req["body"]),
        "duration": audio.duration,
        "sample_rate": audio.sample_rate,
        "output_format": audio.output_format,
        "last_generated_at": stamp,
        "created_at": stamp,
        "updated_at": stamp,
    }
    account_of(request).clips(project_uuid).add(item["uuid"], item)
    if req["callback_uri"]:  # asynchronous: the item comes back without its audio
        return {"success": True, "item": {**item, "audio_src": None}}
    if req["raw"]:
        item["raw_audio"] = base64.b64encode(audio.data).decode("ascii")
    return {"success": True, "item": item}


def _clip(request: Request, project_uuid: str, clip_uuid: str) -> dict[str, Any]:
    _project(request, project_uuid)
    found = account_of(request).clips(project_uuid).get(clip_uuid)
    if found is None:
        raise SimulatorError(404, f"Clip {clip_uuid} not found")
    return found


@router.get("/projects/{project_uuid}/clips/{clip_uuid}")
async def get_clip(request: Request, project_uuid: str, clip_uuid: str) -> dict[str, Any]:
    return {"success": True, "item": _clip(request, project_uuid, clip_uuid)}


@router.patch("/projects/{project_uuid}/clips/{clip_uuid}")
async def update_clip(request: Request, project_uuid: str, clip_uuid: str) -> dict[str, Any]:
    _clip(request, project_uuid, clip_uuid)
    body = await json_object(request)
    errors = FieldErrors()
    changes = {
        "title": string_field(body, "title", errors, required=False, max_length=255),
        "body": string_field(body, "body", errors, required=False, max_length=MAX_CLIP_BODY_CHARS),
        "is_archived": bool_field(body, "is_archived", errors, required=False),
    }
    errors.raise_if_any(VALIDATION_STATUS)
    present = {key: value for key, value in changes.items() if value is not None}
    item = account_of(request).clips(project_uuid).update(clip_uuid, {**present, "updated_at": now_iso()})
    return {"success": True, "item": item}


@router.delete("/projects/{project_uuid}/clips/{clip_uuid}")
async def delete_clip(request: Request, project_uuid: str, clip_uuid: str) -> dict[str, Any]:
    _clip(request, project_uuid, clip_uuid)
    account_of(request).clips(project_uuid).remove(clip_uuid)
    return {"success": True, "message": "Clip deleted"}
