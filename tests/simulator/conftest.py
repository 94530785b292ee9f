from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import struct
import time
import wave
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, cast

import anyio
import httpx
import pytest
from fastapi import FastAPI, Request, Response

from voicegate.simulator import SEEDED_VOICES, close_simulator_app, create_simulator_app
from voicegate.simulator.audio import Precision, render
from voicegate.simulator.plans import Plan

API_KEY = "test-sim-key"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
VOICE_UUID = SEEDED_VOICES[0]["uuid"]
JOB_DELAY_S = 0.05
WEBHOOK_SECRET = "whsec-test"
PEER = "http://peer.test"


def plan_of(request: pytest.FixtureRequest) -> Plan:
    """A test module that exercises Business-only routes says so with `SIMULATOR_PLAN = "business"`."""
    return cast(Plan, getattr(request.module, "SIMULATOR_PLAN", "flex"))


@pytest.fixture
async def sim_app(request: pytest.FixtureRequest) -> AsyncIterator[FastAPI]:
    app = create_simulator_app(API_KEY, plan=plan_of(request))
    yield app
    await close_simulator_app(app)


@pytest.fixture
async def client(sim_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim_app), base_url="http://sim") as c:
        yield c


def wav_bytes(seconds: float, rate: int = 16000, precision: Precision = "PCM_16") -> bytes:
    return render(seconds, sample_rate=rate, precision=precision).data


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def signature_ok(self, secret: str = WEBHOOK_SECRET) -> bool:
        expected = hmac.new(secret.encode(), self.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(self.headers.get("x-resemble-signature", ""), expected)


@dataclass
class Peer:
    """A stand-in for the outside world the simulator talks to: it serves media files and receives callbacks."""

    files: dict[str, bytes] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    hook_status: int = 200
    app: FastAPI = field(default_factory=FastAPI)

    def __post_init__(self) -> None:
        @self.app.get("/files/{name}")
        async def serve_file(name: str) -> Response:
            if name not in self.files:
                return Response(status_code=404)
            return Response(self.files[name], media_type="application/octet-stream")

        @self.app.post("/hooks/{name}")
        async def hook(request: Request, name: str) -> Response:
            self.received.append(Received(request.url.path, dict(request.headers), await request.body()))
            return Response(status_code=self.hook_status)

    def url(self, name: str) -> str:
        return f"{PEER}/files/{name}"

    def hook(self, name: str = "cb") -> str:
        return f"{PEER}/hooks/{name}"


@pytest.fixture
def peer() -> Peer:
    return Peer()


@pytest.fixture
async def outbound(peer: Peer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=peer.app)) as c:
        yield c


@pytest.fixture
async def jobs_app(outbound: httpx.AsyncClient, request: pytest.FixtureRequest) -> AsyncIterator[FastAPI]:
    app = create_simulator_app(
        API_KEY,
        job_delay_s=JOB_DELAY_S,
        outbound=outbound,
        webhook_secret=WEBHOOK_SECRET,
        plan=plan_of(request),
    )
    yield app
    await close_simulator_app(app)


@pytest.fixture
async def jc(jobs_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the job-enabled simulator (fast jobs, injected outbound client, webhook secret)."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=jobs_app), base_url="http://sim", headers=AUTH) as c:
        yield c


async def poll(
    client: httpx.AsyncClient, path: str, done: Callable[[dict[str, Any]], bool], limit_s: float = 3.0
) -> dict[str, Any]:
    """GET `path` until `done(body)`; fails after `limit_s` seconds."""
    deadline = time.monotonic() + limit_s
    while True:
        response = await client.get(path)
        assert response.status_code == 200, response.text
        body = response.json()
        if done(body):
            return body
        assert time.monotonic() < deadline, f"{path} never settled: {body}"
        await anyio.sleep(0.02)


async def wait_until(check: Callable[[], bool], limit_s: float = 3.0) -> None:
    deadline = time.monotonic() + limit_s
    while not check():
        assert time.monotonic() < deadline, "condition never became true"
        await anyio.sleep(0.01)


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


async def callback_log(client: httpx.AsyncClient, count: int, limit_s: float = 3.0) -> list[dict[str, Any]]:
    """`GET /_sim/callbacks` once it holds `count` deliveries."""
    deadline = time.monotonic() + limit_s
    while True:
        log: list[dict[str, Any]] = (await client.get("/_sim/callbacks")).json()
        if len(log) >= count:
            return log
        assert time.monotonic() < deadline, f"only {len(log)} callbacks delivered"
        await anyio.sleep(0.01)
