from __future__ import annotations

import base64
import io
import struct
import wave
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI

from voicegate.simulator import SEEDED_VOICES, create_simulator_app

API_KEY = "test-sim-key"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
VOICE_UUID = SEEDED_VOICES[0]["uuid"]


@pytest.fixture
def sim_app() -> FastAPI:
    return create_simulator_app(API_KEY)


@pytest.fixture
async def client(sim_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim_app), base_url="http://sim") as c:
        yield c


@dataclass(frozen=True)
class WavInfo:
    format_tag: int
    channels: int
    sample_rate: int
    bits_per_sample: int
    frames: int
    data: bytes

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate


def parse_wav(blob: bytes) -> WavInfo:
    """Independent RIFF chunk walker (the stdlib `wave` reader cannot open mu-law files)."""
    assert blob[:4] == b"RIFF"
    assert blob[8:12] == b"WAVE"
    assert struct.unpack("<I", blob[4:8])[0] == len(blob) - 8
    pos, chunks = 12, {}
    while pos + 8 <= len(blob):
        chunk_id, size = blob[pos : pos + 4], struct.unpack("<I", blob[pos + 4 : pos + 8])[0]
        chunks[chunk_id] = blob[pos + 8 : pos + 8 + size]
        pos += 8 + size + (size % 2)
    assert pos == len(blob)
    tag, channels, rate, byte_rate, align, bits = struct.unpack("<HHIIHH", chunks[b"fmt "][:16])
    assert byte_rate == rate * align
    assert align == channels * bits // 8
    data = chunks[b"data"]
    return WavInfo(tag, channels, rate, bits, len(data) // align, data)


def decode_audio(body: dict[str, object]) -> bytes:
    content = body["audio_content"]
    assert isinstance(content, str)
    return base64.b64decode(content, validate=True)


def read_pcm_wav(blob: bytes) -> wave.Wave_read:
    return wave.open(io.BytesIO(blob), "rb")
