"""Synchronous TTS on the synthesis server: `POST /synthesize` (Resemble's f.cluster host)."""

from __future__ import annotations

import base64
import json
import time
import zlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

import anyio.to_thread
from fastapi import APIRouter, Request, Response

from . import ssml
from .audio import OUTPUT_FORMATS, PRECISIONS, SAMPLE_RATES, OutputFormat, Precision, RenderedAudio, render
from .errors import SimulatorError
from .params import FieldErrors, optional_bool, optional_str
from .state import get_state

router = APIRouter()

MAX_DATA_CHARS = 3000
MIN_DURATION_S = 0.5
# The OpenAPI spec gives no default; Resemble's TTS docs page says 48000.
DEFAULT_SAMPLE_RATE = 48000
DEFAULT_PRECISION: Precision = "PCM_32"
DEFAULT_OUTPUT_FORMAT: OutputFormat = "wav"
# Renders longer than this many samples run in a worker thread so the event loop stays responsive.
_INLINE_RENDER_SAMPLES = 100_000


@dataclass(frozen=True)
class SynthesisRequest:
    voice_uuid: str
    data: str
    project_uuid: str | None = None
    title: str | None = None
    precision: Precision = DEFAULT_PRECISION
    output_format: OutputFormat = DEFAULT_OUTPUT_FORMAT
    sample_rate: int = DEFAULT_SAMPLE_RATE
    use_hd: bool = False
    apply_custom_pronunciations: bool = False


def _sample_rate(value: object, errors: FieldErrors) -> int:
    if value is None:
        return DEFAULT_SAMPLE_RATE
    # The spec's enum holds strings, but the SDK and the docs send integers; accept both spellings.
    if isinstance(value, str) and value.isdigit() and int(value) in SAMPLE_RATES:
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value in SAMPLE_RATES:
        return value
    errors.add("sample_rate", f"must be one of {', '.join(str(rate) for rate in SAMPLE_RATES)}")
    return DEFAULT_SAMPLE_RATE


def parse_synthesis_request(body: object) -> SynthesisRequest:
    """Validate a `/synthesize` body; unknown fields (`model`, `speed`, ...) are ignored like upstream."""
    if not isinstance(body, dict):
        raise SimulatorError(400, "Request body must be a JSON object")
    errors = FieldErrors()

    voice_uuid = body.get("voice_uuid")
    if not isinstance(voice_uuid, str) or not voice_uuid:
        errors.add("voice_uuid", "is required" if voice_uuid in (None, "") else "must be a string")
    data = body.get("data")
    if not isinstance(data, str) or not data.strip():
        errors.add("data", "is required" if data is None or isinstance(data, str) else "must be a string")
    elif len(data) > MAX_DATA_CHARS:
        errors.add("data", f"must be at most {MAX_DATA_CHARS} characters (got {len(data)})")

    precision = body.get("precision", DEFAULT_PRECISION)
    if precision is None:
        precision = DEFAULT_PRECISION
    if precision not in PRECISIONS:
        errors.add("precision", f"must be one of {', '.join(PRECISIONS)}")
    output_format = body.get("output_format", DEFAULT_OUTPUT_FORMAT)
    if output_format is None:
        output_format = DEFAULT_OUTPUT_FORMAT
    if output_format not in OUTPUT_FORMATS:
        errors.add("output_format", f"must be one of {', '.join(OUTPUT_FORMATS)}")

    request = SynthesisRequest(
        voice_uuid=cast(str, voice_uuid),
        data=cast(str, data),
        project_uuid=optional_str(body, "project_uuid", errors),
        title=optional_str(body, "title", errors),
        precision=cast(Precision, precision),
        output_format=cast(OutputFormat, output_format),
        sample_rate=_sample_rate(body.get("sample_rate"), errors),
        use_hd=optional_bool(body, "use_hd", errors),
        apply_custom_pronunciations=optional_bool(body, "apply_custom_pronunciations", errors),
    )
    errors.raise_if_any()
    return request


def synthesis_duration(text: str, seconds_per_char: float) -> float:
    """Seconds of speech for `text` (plain text or SSML: tags stripped, prosody rate and breaks applied)."""
    return max(MIN_DURATION_S, ssml.parse(text).duration(seconds_per_char))


def tone_for_voice(voice_uuid: str) -> float:
    """A stable per-voice pitch between 150 and 300 Hz, so different voices sound different."""
    return 150.0 + zlib.crc32(voice_uuid.encode()) % 150


def audio_timestamps(text: str, duration: float) -> dict[str, list[Any]]:
    """Graphemes share the duration evenly; the pseudo-phonemes are the letters and digits of the text."""
    step = duration / max(1, len(text))
    graph_times = [[round(i * step, 4), round((i + 1) * step, 4)] for i in range(len(text))]
    phonemes = [(char.lower(), times) for char, times in zip(text, graph_times, strict=True) if char.isalnum()]
    return {
        "graph_chars": list(text),
        "graph_times": graph_times,
        "phon_chars": [char for char, _ in phonemes],
        "phon_times": [times for _, times in phonemes],
    }


def build_response_body(req: SynthesisRequest, duration: float) -> tuple[bytes, float]:
    """The answer's JSON bytes and the seconds of audio it holds (what the call is billed by)."""
    started = time.perf_counter()
    audio: RenderedAudio = render(
        duration,
        sample_rate=req.sample_rate,
        precision=req.precision,
        output_format=req.output_format,
        tone_hz=tone_for_voice(req.voice_uuid),
    )
    body = {
        "success": True,
        "audio_content": base64.b64encode(audio.data).decode("ascii"),
        "audio_timestamps": audio_timestamps(ssml.parse(req.data).text, audio.duration),
        "duration": audio.duration,
        "synth_duration": round(time.perf_counter() - started, 4),
        "output_format": audio.output_format,
        "sample_rate": audio.sample_rate,
        "seed": zlib.crc32(f"{req.voice_uuid}:{req.data}".encode()) & 0x7FFFFFFF,
        "title": req.title,
        "issues": [],
    }
    return json.dumps(body, separators=(",", ":")).encode(), audio.duration


@router.post("/synthesize")
async def synthesize(request: Request) -> Response:
    raw = await request.body()
    try:
        payload = json.loads(raw) if raw else None
    except ValueError:
        raise SimulatorError(400, "Request body is not valid JSON") from None
    req = parse_synthesis_request(payload)

    state = get_state(request)
    if state.voice(req.voice_uuid) is None:
        # The spec lists only 400/401 for this operation, so an unknown voice is a 400.
        raise SimulatorError(400, f"Voice {req.voice_uuid} not found", errors={"voice_uuid": ["was not found"]})

    duration = synthesis_duration(req.data, state.settings.seconds_per_char)
    if duration * req.sample_rate > _INLINE_RENDER_SAMPLES:
        content, seconds = await anyio.to_thread.run_sync(build_response_body, req, duration)
    else:
        content, seconds = build_response_body(req, duration)
    state.jobs.wallet.charge("tts", Decimal(str(seconds)).quantize(Decimal("0.000001")))
    return Response(content=content, media_type="application/json")
