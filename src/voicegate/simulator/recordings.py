"""A custom voice's training recordings (`/api/v2/voices/{voice_uuid}/recordings[/{recording_uuid}]`).

Create is multipart (`file`, `name`, `text`, `emotion`, `is_active` required; `fill` optional; booleans may be the
strings "true"/"false"). The file must be readable audio and not silent (422). Its `audio_src` is a signed
simulator link to the stored bytes, and its `metrics` are derived from those bytes, so the same file always scores
the same. The list answers the `{success, page, total_results, page_count, items}` shape of projects and clips.
"""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import APIRouter, Request

from . import bodies, intake
from .accounts import Collection, new_uuid, now_iso
from .bodies import VALIDATION_STATUS, json_object, paged, string_field
from .catalogue import Item
from .errors import SimulatorError
from .jobs import media_url
from .media import MediaError, MediaInfo, is_silent, probe
from .params import FieldErrors
from .state import get_state
from .voices import custom_voice, found_voice

router = APIRouter(prefix="/api/v2")

MAX_NAME_CHARS = 256
MAX_TEXT_CHARS = 1024
MAX_EMOTION_CHARS = 64
LOUDNESS_GRADES = ("A", "B", "C")


def _recordings(request: Request, voice_uuid: str) -> Collection:
    state = get_state(request)
    found_voice(state, voice_uuid)
    return state.catalogue.recordings(voice_uuid)


def _recording(request: Request, voice_uuid: str, recording_uuid: str) -> tuple[Collection, Item]:
    recordings = _recordings(request, voice_uuid)
    found = recordings.get(recording_uuid)
    if found is None:
        raise SimulatorError(404, f"Recording {recording_uuid} not found")
    return recordings, found


def _name_taken(recordings: Collection, name: str, *, other_than: str | None = None) -> bool:
    return any(item["name"] == name and item["uuid"] != other_than for item in recordings.all())


def _training_audio(data: bytes, errors: FieldErrors) -> MediaInfo | None:
    try:
        info = probe(data)
    except MediaError as exc:
        errors.add("file", str(exc))
        return None
    if info.media_type != "audio":
        errors.add("file", f"must be audio, not {info.media_type}")
        return None
    if is_silent(data):
        errors.add("file", "is silent")
        return None
    return info


def metrics(data: bytes) -> dict[str, Any]:
    """Quality scores that depend only on the file's bytes."""
    digest = hashlib.sha256(data).digest()
    return {
        "signal_to_noise_ratio": round(20 + digest[0] / 255 * 20, 2),
        "loudness_grade": LOUDNESS_GRADES[digest[1] % len(LOUDNESS_GRADES)],
        "resemble_sample_score": round(0.6 + digest[2] / 255 * 0.4, 3),
    }


@router.get("/voices/{voice_uuid}/recordings")
async def list_recordings(request: Request, voice_uuid: str) -> dict[str, Any]:
    return paged(request, _recordings(request, voice_uuid).all())


@router.post("/voices/{voice_uuid}/recordings")
async def create_recording(request: Request, voice_uuid: str) -> dict[str, Any]:
    state = get_state(request)
    custom_voice(state, voice_uuid)
    recordings = state.catalogue.recordings(voice_uuid)
    body = await intake.read_body(request, json_allowed=False)
    errors = FieldErrors()
    part = intake.file_field(body, "file", errors, required=True)
    name = intake.str_field(body, "name", errors, required=True, max_len=MAX_NAME_CHARS)
    text = intake.str_field(body, "text", errors, required=True, max_len=MAX_TEXT_CHARS)
    emotion = intake.str_field(body, "emotion", errors, required=True, max_len=MAX_EMOTION_CHARS)
    if body.fields.get("is_active") in (None, ""):
        errors.add("is_active", "is required")
    is_active = intake.bool_field(body, "is_active", errors)
    fill = intake.bool_field(body, "fill", errors)
    if name is not None and _name_taken(recordings, name):
        errors.add("name", "has already been taken")
    info = _training_audio(part.data, errors) if part is not None else None
    errors.raise_if_any(VALIDATION_STATUS)
    assert part is not None
    assert info is not None
    token = state.jobs.store_media(info.extension, data=part.data)
    stamp, recording_uuid = now_iso(), new_uuid()
    item = {
        "uuid": recording_uuid,
        "name": name,
        "text": text,
        "emotion": emotion,
        "fill": fill,
        "is_active": is_active,
        "audio_src": media_url(intake.base_url(request), token),
        "metrics": metrics(part.data),
        "created_at": stamp,
        "updated_at": stamp,
    }
    return {"success": True, "item": recordings.add(recording_uuid, item)}


@router.get("/voices/{voice_uuid}/recordings/{recording_uuid}")
async def get_recording(request: Request, voice_uuid: str, recording_uuid: str) -> dict[str, Any]:
    return {"success": True, "item": _recording(request, voice_uuid, recording_uuid)[1]}


@router.put("/voices/{voice_uuid}/recordings/{recording_uuid}")
@router.patch("/voices/{voice_uuid}/recordings/{recording_uuid}")
async def update_recording(request: Request, voice_uuid: str, recording_uuid: str) -> dict[str, Any]:
    custom_voice(get_state(request), voice_uuid)
    recordings, _ = _recording(request, voice_uuid, recording_uuid)
    body = await json_object(request)
    errors = FieldErrors()
    changes = {
        "name": string_field(body, "name", errors, required=False, max_length=MAX_NAME_CHARS),
        "text": string_field(body, "text", errors, required=False, max_length=MAX_TEXT_CHARS),
        "emotion": string_field(body, "emotion", errors, required=False, max_length=MAX_EMOTION_CHARS),
        "is_active": bodies.bool_field(body, "is_active", errors, required=False),
        "fill": bodies.bool_field(body, "fill", errors, required=False),
    }
    name = changes["name"]
    if isinstance(name, str) and not name.strip():
        errors.add("name", "can't be blank")
    elif isinstance(name, str) and _name_taken(recordings, name, other_than=recording_uuid):
        errors.add("name", "has already been taken")
    errors.raise_if_any(VALIDATION_STATUS)
    present = {key: value for key, value in changes.items() if value is not None}
    item = recordings.update(recording_uuid, {**present, "updated_at": now_iso()})
    if item is None:
        raise SimulatorError(404, f"Recording {recording_uuid} not found")
    return {"success": True, "item": item}


@router.delete("/voices/{voice_uuid}/recordings/{recording_uuid}")
async def delete_recording(request: Request, voice_uuid: str, recording_uuid: str) -> dict[str, Any]:
    custom_voice(get_state(request), voice_uuid)
    recordings, _ = _recording(request, voice_uuid, recording_uuid)
    recordings.remove(recording_uuid)
    return {"success": True, "message": "Recording deleted"}
