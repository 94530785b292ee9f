"""Voices on the app API: the paged catalogue, one voice, and the account's own voices (create, update, build, delete).

Created voices are `source: "Custom Voice"` and `status: "pending"` until built. `POST .../build` needs at least
3 active recordings for a professional voice, at least 1 active recording or a `dataset_url` for a rapid one, and
starts a `voice_build` job (see `catalogue.py`); job faults (`job_fail`, `job_hang`, `callback_repeat`) on the
build path shape it. When the voice has a `callback_uri`, the settled `GET /voices/{uuid}` body is POSTed to it,
signed like every job callback. Library voices cannot be built (400), changed or deleted (403).
"""

from __future__ import annotations

import math
import uuid as uuid_module
from functools import partial
from typing import Any

from fastapi import APIRouter, Request

from .accounts import now_iso
from .bodies import VALIDATION_STATUS, bool_field, json_object, required_str, string_field
from .catalogue import (
    BUILD_PHASES,
    CUSTOM_SOURCE,
    LIBRARY_SOURCE,
    UNBUILT_STATUS,
    Item,
    VoiceCatalogue,
    component_status,
    with_status,
)
from .errors import SimulatorError
from .intake import base_url, is_http_url, plan_job
from .jobs import Job
from .params import FieldErrors, bool_query, int_query
from .state import SimulatorState, get_state

router = APIRouter(prefix="/api/v2")

VOICE_TYPES = ("professional", "rapid", "rapid_voice")
RAPID_TYPES = frozenset({"rapid", "rapid_voice"})
MAX_NAME_CHARS = 256
MAX_DESCRIPTION_CHARS = 2000
MAX_LANGUAGE_CHARS = 35
PROFESSIONAL_MIN_RECORDINGS = 3
DEFAULT_LANGUAGE = "en-US"


def _voice(
    uuid: str, name: str, language: str, *, voice_type: str, source: str, languages: list[str] | None = None
) -> dict[str, Any]:
    return {
        "uuid": uuid,
        "name": name,
        "status": "ready",
        "created_at": "2024-01-15T10:30:00Z",
        "updated_at": "2024-01-15T10:32:00Z",
        "default_language": language,
        "voice_type": voice_type,
        "voice_status": "ready",
        "supported_languages": languages or [language],
        "component_status": component_status("ready"),
        "api_support": {"sync": True, "async": True, "direct_synthesis": True, "streaming": True},
        "source": source,
    }


SEEDED_VOICES: tuple[dict[str, Any], ...] = (
    _voice("55592656", "Ellie", "en-US", voice_type="professional", source=LIBRARY_SOURCE),
    _voice("b2d1bb75", "Marcus", "en-GB", voice_type="rapid", source=LIBRARY_SOURCE),
    _voice(
        "38a0b764",
        "Lucia",
        "es-ES",
        voice_type="professional",
        source=LIBRARY_SOURCE,
        languages=["es-ES", "en-US", "fr-FR"],
    ),
    _voice("fb2d2858", "Kenji", "ja-JP", voice_type="professional", source=LIBRARY_SOURCE),
    _voice("91b49260", "Amara", "en-US", voice_type="rapid", source=CUSTOM_SOURCE),
    _voice("e28236ee", "Henrik", "de-DE", voice_type="professional", source=CUSTOM_SOURCE),
)


def new_voice(name: str, *, voice_type: str, language: str = DEFAULT_LANGUAGE, **extra: Any) -> Item:
    """A custom voice as `POST /voices` creates it: not built yet."""
    stamp = now_iso()
    voice = {
        **_voice(uuid_module.uuid4().hex[:8], name, language, voice_type=voice_type, source=CUSTOM_SOURCE),
        "created_at": stamp,
        "updated_at": stamp,
        "description": None,
        "dataset_url": None,
        "callback_uri": None,
        **extra,
    }
    return with_status(voice, UNBUILT_STATUS)


def found_voice(state: SimulatorState, voice_uuid: str) -> Item:
    voice = state.voice(voice_uuid)
    if voice is None:
        raise SimulatorError(404, f"Voice {voice_uuid} not found")
    return voice


def custom_voice(state: SimulatorState, voice_uuid: str) -> Item:
    """The voice, if the account may change it: unknown is 404, a library voice 403."""
    voice = found_voice(state, voice_uuid)
    if voice["source"] != CUSTOM_SOURCE:
        raise SimulatorError(403, f"Voice {voice_uuid} is a library voice and cannot be changed")
    return voice


@router.get("/voices")
async def list_voices(request: Request) -> dict[str, Any]:
    errors = FieldErrors()
    page = int_query(request.query_params, "page", errors, minimum=1)
    page_size = int_query(request.query_params, "page_size", errors, default=10, minimum=10, maximum=1000)
    bool_query(request.query_params, "advanced", errors)
    errors.raise_if_any()
    assert page is not None
    assert page_size is not None

    voices = get_state(request).voices()
    start = (page - 1) * page_size
    return {
        "success": True,
        "page": page,
        "num_pages": max(1, math.ceil(len(voices) / page_size)),
        "page_size": page_size,
        "items": voices[start : start + page_size],
    }


@router.post("/voices")
async def create_voice(request: Request) -> dict[str, Any]:
    body = await json_object(request)
    errors = FieldErrors()
    name = required_str(body, "name", errors, max_length=MAX_NAME_CHARS)
    voice_type = body.get("voice_type") or "professional"
    if voice_type not in VOICE_TYPES:
        errors.add("voice_type", f"must be one of {', '.join(VOICE_TYPES)}")
    if body.get("consent") is not None and not isinstance(body["consent"], str | bool):
        errors.add("consent", "must be a string or a boolean")
    fields = _changes(body, errors)
    errors.raise_if_any(VALIDATION_STATUS)
    language = fields.pop("default_language", DEFAULT_LANGUAGE)
    voice = new_voice(name, voice_type=str(voice_type), language=language, **fields)
    return {"success": True, "item": get_state(request).catalogue.add(voice)}


@router.get("/voices/{voice_uuid}")
async def get_voice(request: Request, voice_uuid: str) -> dict[str, Any]:
    return {"success": True, "item": found_voice(get_state(request), voice_uuid)}


@router.put("/voices/{voice_uuid}")
@router.patch("/voices/{voice_uuid}")
async def update_voice(request: Request, voice_uuid: str) -> dict[str, Any]:
    state = get_state(request)
    custom_voice(state, voice_uuid)
    body = await json_object(request)
    errors = FieldErrors()
    name = string_field(body, "name", errors, required=False, max_length=MAX_NAME_CHARS)
    if name is not None and not name.strip():
        errors.add("name", "can't be blank")
    changes = _changes(body, errors)
    errors.raise_if_any(VALIDATION_STATUS)
    if name is not None:
        changes["name"] = name
    if "default_language" in changes:
        changes["supported_languages"] = [changes["default_language"]]
    item = state.catalogue.update(voice_uuid, {**changes, "updated_at": now_iso()})
    if item is None:
        raise SimulatorError(404, f"Voice {voice_uuid} not found")
    return {"success": True, "item": item}


@router.delete("/voices/{voice_uuid}")
async def delete_voice(request: Request, voice_uuid: str) -> dict[str, Any]:
    state = get_state(request)
    found = found_voice(state, voice_uuid)
    if found["source"] != CUSTOM_SOURCE:
        raise SimulatorError(403, f"Voice {voice_uuid} is a library voice and cannot be deleted")
    state.catalogue.remove(voice_uuid)
    return {"success": True, "message": "Voice was deleted."}


@router.post("/voices/{voice_uuid}/build")
async def build_voice(request: Request, voice_uuid: str) -> dict[str, Any]:
    state = get_state(request)
    voice = found_voice(state, voice_uuid)
    body = await json_object(request) if (await request.body()).strip() else {}
    errors = FieldErrors()
    bool_field(body, "fill", errors, required=False)
    errors.raise_if_any(VALIDATION_STATUS)
    if voice["source"] != CUSTOM_SOURCE:
        raise SimulatorError(400, f"Voice {voice_uuid} is a pre-built library voice and cannot be built")
    if state.catalogue.is_building(voice_uuid):
        raise SimulatorError(400, f"Voice {voice_uuid} is already being built")
    _check_training_data(state.catalogue, voice)
    start_build(state, request, voice_uuid, callback_uri=voice.get("callback_uri"))
    return {"success": True, "message": f"Voice {voice_uuid} build started"}


def start_build(state: SimulatorState, request: Request, voice_uuid: str, *, callback_uri: str | None) -> Job:
    """Start the voice's build job; job faults matching the request path decide how it ends."""
    plan = plan_job(state, request, None)
    job = state.jobs.new_job(
        "voice_build",
        base_url=base_url(request),
        outcome=plan.outcome,
        error=plan.error,
        data={"voice_uuid": voice_uuid},
        callback_url=callback_uri,
        callback_repeat=plan.callback_repeat,
    )
    job.body = partial(_settled_voice_body, state.catalogue)
    state.catalogue.start_build(voice_uuid, job)
    voice = state.catalogue.get(voice_uuid)
    if voice is not None:
        state.jobs.wallet.charge_voice_month(voice_uuid, str(voice["voice_type"]))
    state.jobs.schedule_callback(job)
    return job


def _settled_voice_body(catalogue: VoiceCatalogue, job: Job, _base_url: str) -> dict[str, Any]:
    """The callback body: the voice as `GET` shows it once the build has settled."""
    voice = catalogue.get(job.data["voice_uuid"])
    if voice is None:
        raise LookupError(f"voice {job.data['voice_uuid']} was deleted before its build settled")
    settled = BUILD_PHASES["completed" if job.outcome == "complete" else "failed"]
    return {"success": True, "item": with_status(voice, settled)}


def _check_training_data(catalogue: VoiceCatalogue, voice: Item) -> None:
    active = [r for r in catalogue.recordings(voice["uuid"]).all() if r["is_active"]]
    if voice["voice_type"] in RAPID_TYPES:
        if not active and not voice.get("dataset_url"):
            raise SimulatorError(
                VALIDATION_STATUS,
                "A rapid voice needs at least 1 active recording or a dataset_url to build",
                errors={"recordings": ["at least 1 active recording or a dataset_url is required"]},
            )
    elif len(active) < PROFESSIONAL_MIN_RECORDINGS:
        raise SimulatorError(
            VALIDATION_STATUS,
            f"A professional voice needs at least {PROFESSIONAL_MIN_RECORDINGS} active recordings to build"
            f" (it has {len(active)})",
            errors={"recordings": [f"at least {PROFESSIONAL_MIN_RECORDINGS} active recordings are required"]},
        )


def _changes(body: dict[str, Any], errors: FieldErrors) -> Item:
    """The optional fields both create and update take, under their item names."""
    changes: Item = {}
    for name in ("dataset_url", "callback_uri"):
        value = string_field(body, name, errors, required=False)
        if value is not None and not is_http_url(value):
            errors.add(name, "must be an absolute http(s) URL")
        elif value is not None:
            changes[name] = value
    description = string_field(body, "description", errors, required=False, max_length=MAX_DESCRIPTION_CHARS)
    if description is not None:
        changes["description"] = description
    language = string_field(body, "language", errors, required=False, max_length=MAX_LANGUAGE_CHARS)
    if language is not None and not language.strip():
        errors.add("language", "can't be blank")
    elif language is not None:
        changes["default_language"] = language
    return changes
