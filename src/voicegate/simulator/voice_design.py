"""Voice design (supplement section 1): generate three candidate samples from a prompt, then promote one.

`POST /api/v2/voice-design` takes `user_prompt` (and `is_voice_design_trial`) as JSON or multipart and answers at
once, without a `success` key, in the shape the simulator is set to (`create_simulator_app(voice_design_shape=...)`
or `PUT /_sim/voice-design/shape`): "array" (the default) `{voice_candidates: [{audio_url, voice_sample_index,
uuid}]}`, or "object" `{voice_candidates: {voice_design_model_uuid, samples: [{audio_url, sample_index}]}}`. The
samples are tones chosen by a hash of the prompt, so one prompt always sounds the same; their links expire after
4 h. Designs belong to the key that made them. Promoting a sample creates a custom rapid voice whose build starts
at once (202 `{voice_uuid}`), moving `initializing -> running -> finished` like `POST /voices/{uuid}/build`.
"""

from __future__ import annotations

import hashlib
import uuid as uuid_module
from decimal import Decimal
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from .accounts import account_of, now_iso
from .bodies import VALIDATION_STATUS
from .catalogue import Item
from .errors import SimulatorError
from .intake import base_url, bool_field, read_body, str_field
from .jobs import media_url
from .media import render_wav
from .params import FieldErrors
from .state import get_state
from .voices import MAX_NAME_CHARS, new_voice, start_build

router = APIRouter(prefix="/api/v2")

SAMPLE_COUNT = 3
SAMPLE_TTL_S = 4 * 3600.0
SAMPLE_SECONDS = 3.0
SAMPLE_RATE = 22050
MAX_PROMPT_CHARS = 2000
_LOWEST_TONE_HZ, _TONE_SPAN_HZ = 140, 260


def sample_tone(prompt: str, index: int) -> float:
    digest = hashlib.sha256(f"{prompt}\x00{index}".encode()).digest()
    return float(_LOWEST_TONE_HZ + int.from_bytes(digest[:2], "big") % _TONE_SPAN_HZ)


def _samples(request: Request, prompt: str) -> list[dict[str, Any]]:
    engine = get_state(request).jobs
    samples = []
    for index in range(SAMPLE_COUNT):
        render = partial(render_wav, SAMPLE_SECONDS, SAMPLE_RATE, tone_hz=sample_tone(prompt, index))
        size = int(SAMPLE_SECONDS * SAMPLE_RATE * 2)
        token = engine.store_media("wav", render=render, size_hint=size, ttl_s=SAMPLE_TTL_S)
        samples.append({"audio_url": media_url(base_url(request), token), "sample_index": index})
    return samples


def _candidates(design: Item, shape: str) -> dict[str, Any]:
    samples = design["preview_samples"]
    if shape == "object":
        return {"voice_candidates": {"voice_design_model_uuid": design["uuid"], "samples": samples}}
    return {
        "voice_candidates": [
            {"audio_url": sample["audio_url"], "voice_sample_index": sample["sample_index"], "uuid": design["uuid"]}
            for sample in samples
        ]
    }


@router.post("/voice-design")
async def create_voice_design(request: Request) -> dict[str, Any]:
    body = await read_body(request)
    errors = FieldErrors()
    prompt = str_field(body, "user_prompt", errors, required=True, max_len=MAX_PROMPT_CHARS)
    bool_field(body, "is_voice_design_trial", errors, default=True)
    errors.raise_if_any(VALIDATION_STATUS)
    assert prompt is not None
    design_uuid = str(uuid_module.uuid4())
    design = {
        "uuid": design_uuid,
        "prompt_text": prompt,
        "preview_samples": _samples(request, prompt),
        "created_at": now_iso(),
    }
    account_of(request).voice_designs.add(design_uuid, design)
    get_state(request).jobs.wallet.charge("voice_design", Decimal(1))
    return _candidates(design, get_state(request).voice_design_shape)


@router.get("/voice-design")
async def list_voice_designs(request: Request) -> dict[str, Any]:
    return {"voice_designs": account_of(request).voice_designs.all()}


@router.post("/voice-design/{design_uuid}/{sample_index}/create_rapid_voice", status_code=202)
@router.post("/voice-design/{design_uuid}/{sample_index}/create", status_code=202)
async def create_rapid_voice(request: Request, design_uuid: str, sample_index: str) -> JSONResponse:
    design = account_of(request).voice_designs.get(design_uuid)
    if design is None:
        raise SimulatorError(404, f"Voice design {design_uuid} not found")
    errors = FieldErrors()
    if sample_index not in {str(sample["sample_index"]) for sample in design["preview_samples"]}:
        errors.add("sample_index", f"must be one of 0 to {SAMPLE_COUNT - 1}")
    body = await read_body(request)
    name = str_field(body, "voice_name", errors, required=True, max_len=MAX_NAME_CHARS)
    errors.raise_if_any(VALIDATION_STATUS)
    assert name is not None
    state = get_state(request)
    voice = state.catalogue.add(new_voice(name, voice_type="rapid"))
    start_build(state, request, voice["uuid"], callback_uri=None)
    return JSONResponse({"voice_uuid": voice["uuid"]}, status_code=202)
