"""HTTP streaming TTS on the synthesis server: `POST /stream` (Resemble's f.cluster host).

The answer is `application/octet-stream`: a plain 44-byte PCM WAV header, then the samples, produced a chunk at a
time with a short pause before each, so a client holds the first audio while the rest is still being made (the
official SDK drops exactly the first 44 bytes as the header). `GET /_sim/streams` tells how far each stream got,
which lets a test prove that a chunk reached it before the last one was produced.
"""

from __future__ import annotations

import itertools
import json
import struct
import threading
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any, cast

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from .audio import SAMPLE_WIDTH, Precision, frame_count, tone_frames
from .errors import SimulatorError
from .hooks import SIM_PREFIX
from .state import get_state
from .synthesis import parse_synthesis_request, synthesis_duration, tone_for_voice

router = APIRouter()

MAX_STREAM_CHARS = 2000  # Resemble's documented limit for /stream
STREAM_PRECISIONS: tuple[Precision, ...] = ("PCM_16", "PCM_24", "PCM_32")
DEFAULT_STREAM_PRECISION: Precision = "PCM_16"
CHUNK_SECONDS = 0.1  # audio per chunk
DEFAULT_CHUNK_DELAY_S = 0.02  # pause before each chunk: 100 ms of audio every 20 ms, five times real time
STREAM_LOG_LIMIT = 100


@dataclass
class StreamProgress:
    id: int
    voice_uuid: str
    total_chunks: int
    chunks_sent: int = 0
    bytes_sent: int = 0
    finished: bool = False
    """Every chunk was produced and handed to the server."""
    disconnected: bool = False
    """The client went away before the last chunk."""


class StreamLog:
    """The progress of recent streams, newest last (shared by the request handlers and the hook)."""

    def __init__(self, chunk_delay_s: float = DEFAULT_CHUNK_DELAY_S) -> None:
        self.chunk_delay_s = chunk_delay_s
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._streams: list[StreamProgress] = []

    def start(self, voice_uuid: str, total_chunks: int) -> StreamProgress:
        with self._lock:
            progress = StreamProgress(id=next(self._ids), voice_uuid=voice_uuid, total_chunks=total_chunks)
            self._streams = [*self._streams[-(STREAM_LOG_LIMIT - 1) :], progress]
            return progress

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(progress) for progress in self._streams]

    def clear(self) -> None:
        with self._lock:
            self._streams = []


def wav_header(sample_rate: int, sample_width: int, data_bytes: int) -> bytes:
    """The canonical 44-byte header of a mono PCM WAV holding `data_bytes` of samples."""
    return (
        b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVE"
        + b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, sample_rate, sample_rate * sample_width, sample_width,
                                 8 * sample_width)
        + b"data" + struct.pack("<I", data_bytes)
    )  # fmt: skip


def _stream_log(request: Request) -> StreamLog:
    return cast(StreamLog, request.app.state.streams)


@router.post("/stream")
async def stream(request: Request) -> StreamingResponse:
    raw = await request.body()
    try:
        payload = json.loads(raw) if raw else None
    except ValueError:
        raise SimulatorError(400, "Request body is not valid JSON") from None
    if isinstance(payload, dict):  # /stream takes neither `title` nor `output_format`: always WAV
        payload = {k: v for k, v in payload.items() if k not in ("title", "output_format")}
        payload.setdefault("precision", DEFAULT_STREAM_PRECISION)
    req = parse_synthesis_request(payload)
    if len(req.data) > MAX_STREAM_CHARS:
        raise SimulatorError(400, f"data must be at most {MAX_STREAM_CHARS} characters", errors={"data": ["too long"]})
    if req.precision not in STREAM_PRECISIONS:
        raise SimulatorError(400, f"precision must be one of {', '.join(STREAM_PRECISIONS)} for streaming")
    state = get_state(request)
    if state.voice(req.voice_uuid) is None:
        raise SimulatorError(400, f"Voice {req.voice_uuid} not found", errors={"voice_uuid": ["was not found"]})

    width = SAMPLE_WIDTH[req.precision]
    frames = frame_count(synthesis_duration(req.data, state.settings.seconds_per_char), req.sample_rate)
    samples = tone_frames(frames, req.sample_rate, req.precision, tone_for_voice(req.voice_uuid))
    step = max(1, round(CHUNK_SECONDS * req.sample_rate)) * width
    log = _stream_log(request)
    progress = log.start(req.voice_uuid, total_chunks=-(-len(samples) // step))

    async def produce() -> AsyncIterator[bytes]:
        sent_samples = 0
        try:
            yield wav_header(req.sample_rate, width, len(samples))
            for offset in range(0, len(samples), step):
                await anyio.sleep(log.chunk_delay_s)
                chunk = samples[offset : offset + step]
                yield chunk
                sent_samples += len(chunk)
                progress.chunks_sent += 1
                progress.bytes_sent = 44 + sent_samples
            progress.finished = True
        finally:
            progress.disconnected = not progress.finished
            seconds = Decimal(sent_samples // width) / req.sample_rate
            state.jobs.wallet.charge("tts", seconds.quantize(Decimal("0.000001")))

    return StreamingResponse(produce(), media_type="application/octet-stream")


@router.get(f"{SIM_PREFIX}/streams")
async def streams(request: Request) -> list[dict[str, Any]]:
    return _stream_log(request).snapshot()


@router.delete(f"{SIM_PREFIX}/streams", status_code=204)
async def clear_streams(request: Request) -> None:
    _stream_log(request).clear()
