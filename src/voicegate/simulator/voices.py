"""Voices on the app API: `GET /api/v2/voices` (paged) and `GET /api/v2/voices/{voice_uuid}`."""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, Request

from .errors import SimulatorError
from .params import FieldErrors, bool_query, int_query
from .state import get_state

router = APIRouter(prefix="/api/v2")


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
        "component_status": {
            "text_to_speech": {"status": "ready"},
            "fill": {"status": "ready"},
            "voice_conversion": {"status": "ready"},
        },
        "api_support": {"sync": True, "async": True, "direct_synthesis": True, "streaming": True},
        "source": source,
    }


SEEDED_VOICES: tuple[dict[str, Any], ...] = (
    _voice("55592656", "Ellie", "en-US", voice_type="professional", source="Resemble Voice Library"),
    _voice("b2d1bb75", "Marcus", "en-GB", voice_type="rapid", source="Resemble Voice Library"),
    _voice(
        "38a0b764",
        "Lucia",
        "es-ES",
        voice_type="professional",
        source="Resemble Voice Library",
        languages=["es-ES", "en-US", "fr-FR"],
    ),
    _voice("fb2d2858", "Kenji", "ja-JP", voice_type="professional", source="Resemble Voice Library"),
    _voice("91b49260", "Amara", "en-US", voice_type="rapid", source="Custom Voice"),
    _voice("e28236ee", "Henrik", "de-DE", voice_type="professional", source="Custom Voice"),
)


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


@router.get("/voices/{voice_uuid}")
async def get_voice(request: Request, voice_uuid: str) -> dict[str, Any]:
    voice = get_state(request).voice(voice_uuid)
    if voice is None:
        raise SimulatorError(404, f"Voice {voice_uuid} not found")
    return {"success": True, "item": voice}
