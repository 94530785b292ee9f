"""Streaming TTS over WebSocket: `/stream` on Resemble's websocket cluster (supplement section 6).

The plan middleware refuses the handshake on Flex. A bad key is accepted, then answered with a fatal
`ConnectionFailure` error frame (status 401) and a 1008 close, as Resemble does. Each client message is one
utterance: recoverable errors (bad JSON 400, bad field 400, unknown voice 404, an injected fault) are error frames
and the socket stays open; otherwise the audio goes out as several `audio` frames with a short pause between them
(a client can hang up mid-utterance), then `audio_end`. A `reset` fault on `^/stream$` closes the socket (1011)
halfway through the next utterance. The audio is the `/synthesize` tone, so its length follows
the text the same way; frames hold raw PCM after a WAV header on the first one (unless `no_audio_header`).

Every session and every message is written to the request log (`/_sim/requests`, method `WEBSOCKET`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from . import ssml
from .audio import PRECISIONS, SAMPLE_RATES, SAMPLE_WIDTH, Precision, wav_bytes
from .auth import INVALID_TOKEN_MESSAGE, extract_key, key_is_valid, redact_header
from .state import SimulatorState, get_state
from .synthesis import MAX_DATA_CHARS, audio_timestamps, synthesis_duration, tone_for_voice

router = APIRouter()

STREAM_PATH = "/stream"
DEFAULT_SAMPLE_RATE = 22050
DEFAULT_PRECISION: Precision = "PCM_16"
FRAME_SECONDS = 0.25  # audio per `audio` frame
FRAME_PAUSE_S = 0.02  # between frames, as a real synthesiser produces them


@dataclass(frozen=True)
class Utterance:
    voice_uuid: str
    data: str
    request_id: int
    sample_rate: int
    precision: Precision
    binary_response: bool
    no_audio_header: bool


class FrameError(Exception):
    """A recoverable error frame for one message; the socket stays open."""

    def __init__(self, status_code: int, error_name: str, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.error_name = error_name
        self.message = message


def error_frame(status_code: int, error_name: str, message: str) -> dict[str, Any]:
    return {"type": "error", "success": False, "error_name": error_name, "message": message, "status_code": status_code}


def parse_utterance(raw: str | bytes, next_id: int) -> Utterance:
    try:
        body = json.loads(raw)
    except ValueError:
        raise FrameError(400, "BadJSON", "Message is not valid JSON") from None
    if not isinstance(body, dict):
        raise FrameError(400, "BadJSON", "Message must be a JSON object")
    voice_uuid, data = body.get("voice_uuid"), body.get("data")
    if not isinstance(voice_uuid, str) or not voice_uuid:
        raise FrameError(400, "BadRequest", "voice_uuid is required")
    if not isinstance(data, str) or not data.strip():
        raise FrameError(400, "BadRequest", "data is required")
    if len(data) > MAX_DATA_CHARS:
        raise FrameError(400, "BadRequest", f"data must be at most {MAX_DATA_CHARS} characters (got {len(data)})")
    request_id = body.get("request_id", next_id)
    if isinstance(request_id, bool) or not isinstance(request_id, int):
        raise FrameError(400, "BadRequest", "request_id must be an integer")
    sample_rate = body.get("sample_rate", DEFAULT_SAMPLE_RATE) or DEFAULT_SAMPLE_RATE
    if isinstance(sample_rate, bool) or sample_rate not in SAMPLE_RATES:
        raise FrameError(400, "BadRequest", f"sample_rate must be one of {', '.join(map(str, SAMPLE_RATES))}")
    precision = body.get("precision") or DEFAULT_PRECISION
    if precision not in PRECISIONS or precision == "MULAW":
        raise FrameError(400, "BadRequest", "precision must be one of PCM_16, PCM_24, PCM_32")
    output_format = body.get("output_format") or "wav"
    if output_format != "wav":
        raise FrameError(400, "BadRequest", "output_format must be wav on the stream")
    flags = {name: body.get(name, False) for name in ("binary_response", "no_audio_header")}
    for name, value in flags.items():
        if not isinstance(value, bool):
            raise FrameError(400, "BadRequest", f"{name} must be a boolean")
    return Utterance(
        voice_uuid=voice_uuid,
        data=data,
        request_id=request_id,
        sample_rate=int(sample_rate),
        precision=precision,
        binary_response=flags["binary_response"],
        no_audio_header=flags["no_audio_header"],
    )


def _log(state: SimulatorState, websocket: WebSocket, message: Any, status: int) -> dict[str, Any]:
    """One request-log entry: the handshake (`json` null, status 101 or 401) or one message (its outcome)."""
    headers = {name: redact_header(name, value) for name, value in websocket.headers.items()}
    entry = {
        "method": "WEBSOCKET",
        "path": websocket.url.path,
        "query": dict(websocket.query_params),
        "headers": headers,
        "json": message,
        "received_at": datetime.now(UTC).isoformat(),
        "status": status,
    }
    state.record_request(entry)
    return entry


@router.websocket(STREAM_PATH)
async def stream(websocket: WebSocket) -> None:
    state = get_state(websocket)
    await websocket.accept()
    if not key_is_valid(extract_key(websocket.headers), state.accepted_keys):
        _log(state, websocket, None, 401)
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await websocket.send_json(error_frame(401, "ConnectionFailure", INVALID_TOKEN_MESSAGE))
            await websocket.close(code=1008)
        return
    _log(state, websocket, None, 101)
    next_id = 0
    with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            raw: str | bytes = text if text is not None else message.get("bytes") or b""
            entry = _log(state, websocket, _json_or_none(raw), 200)
            try:
                utterance = parse_utterance(raw, next_id)
                next_id = utterance.request_id + 1
                await _speak(state, websocket, utterance)
            except FrameError as error:
                state.set_response_status(entry, error.status_code)
                await websocket.send_json(error_frame(error.status_code, error.error_name, error.message))


def _json_or_none(raw: str | bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


async def _speak(state: SimulatorState, websocket: WebSocket, utterance: Utterance) -> None:
    fault = state.take_fault(STREAM_PATH)
    if fault is not None and fault.mode == "status":
        if fault.delay_ms:
            await asyncio.sleep(fault.delay_ms / 1000)
        raise FrameError(fault.status, "ServerError", f"Simulated fault {fault.id}")
    # A `reset` fault drops the connection halfway through the utterance, as a server that dies mid-answer.
    cut = fault is not None and fault.mode == "reset"
    if state.voice(utterance.voice_uuid) is None:
        raise FrameError(404, "VoiceNotFound", f"Voice {utterance.voice_uuid} not found")
    duration = synthesis_duration(utterance.data, state.settings.seconds_per_char)
    rate, width = utterance.sample_rate, SAMPLE_WIDTH[utterance.precision]
    frames = max(1, round(duration * rate))
    wav = wav_bytes(frames, rate, utterance.precision, tone_for_voice(utterance.voice_uuid))
    header, pcm = wav[: len(wav) - frames * width], wav[len(wav) - frames * width :]
    timestamps = audio_timestamps(ssml.parse(utterance.data).text, frames / rate)
    step = max(1, round(FRAME_SECONDS * rate)) * width
    for start in range(0, len(pcm), step):
        if cut and start >= len(pcm) // 2:
            await websocket.close(code=1011)
            raise WebSocketDisconnect(1011)
        chunk = pcm[start : start + step]
        if start == 0 and not utterance.no_audio_header:
            chunk = header + chunk
        seconds = len(pcm[start : start + step]) / width / rate
        if utterance.binary_response:
            await websocket.send_bytes(chunk)
        else:
            await websocket.send_json(
                {
                    "type": "audio",
                    "audio_content": base64.b64encode(chunk).decode("ascii"),
                    "audio_timestamps": _window(timestamps, start / width / rate, seconds),
                    "sample_rate": rate,
                    "request_id": utterance.request_id,
                }
            )
        state.jobs.wallet.charge("tts", Decimal(str(seconds)).quantize(Decimal("0.000001")))
        await asyncio.sleep(FRAME_PAUSE_S)
    await websocket.send_json({"type": "audio_end", "request_id": utterance.request_id})


def _window(timestamps: dict[str, list[Any]], start: float, seconds: float) -> dict[str, list[Any]]:
    """The graphemes and phonemes that begin within this frame's stretch of audio."""
    end = start + seconds
    window: dict[str, list[Any]] = {}
    for kind in ("graph", "phon"):
        pairs = [
            (char, times)
            for char, times in zip(timestamps[f"{kind}_chars"], timestamps[f"{kind}_times"], strict=True)
            if start <= times[0] < end
        ]
        window[f"{kind}_chars"] = [char for char, _ in pairs]
        window[f"{kind}_times"] = [times for _, times in pairs]
    return window
