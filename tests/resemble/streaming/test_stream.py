"""Streaming TTS over WebSocket, end to end: a `websockets` client against the gateway and the simulator, both real
servers (one pair for the module), on whichever database, Redis and storage the suite runs with."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.e2e.servers import Server, free_port, serve_together
from tests.services import sibling_database
from voicegate.kit.money import quantize_usd

SIM_KEY = "stream-simulator-key"
ADMIN_KEY = "stream-admin-key"
STOCK_VOICE = "55592656"
SAMPLE_RATE = 22050
TTS_PER_MINUTE = 4
TTS_USD_PER_S = Decimal("0.0005")
MARKUP = Decimal("1.20")
LONG_TEXT = "Streaming speech arrives a little at a time, frame after frame, until the sentence is done. " * 3


@dataclass(frozen=True)
class Stack:
    gateway: str
    simulator: str

    @property
    def stream_url(self) -> str:
        return self.gateway.replace("http://", "ws://") + "/api/v1/resemble/tts/stream"

    async def http(self, method: str, url: str, api_key: str | None = None, **options: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        async with httpx.AsyncClient(timeout=30) as client:
            return await client.request(method, url, headers=headers, **options)

    async def new_user(self, credits: str = "5.00") -> str:
        email = f"stream-{free_port()}-{time.monotonic_ns()}@example.com"
        body = {"email": email, "credits_usd": credits}
        response = await self.http("POST", f"{self.gateway}/api/v1/admin/users", ADMIN_KEY, json=body)
        assert response.status_code == 201, response.text
        return str(response.json()["api_key"])

    async def usage(self, api_key: str) -> dict[str, Any]:
        response = await self.http("GET", f"{self.gateway}/api/v1/user/usage", api_key)
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def credits(self, api_key: str) -> Decimal:
        return Decimal((await self.usage(api_key))["credits_usd"])

    async def stream_sessions(self) -> list[dict[str, Any]]:
        """Every upstream WebSocket handshake and message the simulator has seen."""
        log = (await self.http("GET", f"{self.simulator}/_sim/requests")).json()
        return [entry for entry in log if entry["method"] == "WEBSOCKET"]

    def open(self, api_key: str | None, **options: Any) -> Any:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        return connect(self.stream_url, additional_headers=headers, open_timeout=10, **options)


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory,
    database_url: str,
    redis_url: str | None,
    storage_settings: dict[str, object],
) -> Iterator[Stack]:
    logs = tmp_path_factory.mktemp("stream-logs")
    sim_port, gw_port = free_port(), free_port()
    simulator, gateway = f"http://127.0.0.1:{sim_port}", f"http://127.0.0.1:{gw_port}"
    env = {
        "DATABASE_URL": sibling_database(database_url, "streaming"),
        "RESEMBLE_API_KEY": SIM_KEY,
        "RESEMBLE_BASE_URL": f"{simulator}/api/v2",
        "RESEMBLE_SYNTH_URL": simulator,
        "RESEMBLE_STREAM_URL": f"ws://127.0.0.1:{sim_port}/stream",
        "TTS_STREAM_MAX_PER_USER": "2",
        "RESEMBLE_RATE_LIMITS": json.dumps({"tts": f"{TTS_PER_MINUTE}/minute"}),
        "RUNTIME_SETTINGS_TTL_S": "0.1",
        "ADMIN_API_KEY": ADMIN_KEY,
        "JWT_SECRET": "stream" * 8,
        "PUBLIC_BASE_URL": gateway,
        "VAR_DIR": str(tmp_path_factory.mktemp("stream-var")),
        **{key.upper(): str(value) for key, value in storage_settings.items()},
    }
    if redis_url:
        env["REDIS_URL"] = redis_url
    sim_args = ["simulator", "--port", str(sim_port), "--api-key", SIM_KEY, "--plan", "flex"]
    gateway_args = ["serve", "--port", str(gw_port)]
    with serve_together(  # a loaded machine can take a minute to import and migrate
        Server(sim_args, {}, f"{simulator}/_sim/health", Path(logs / "simulator.log"), startup_timeout_s=120),
        Server(gateway_args, env, f"{gateway}/healthz", Path(logs / "gateway.log"), startup_timeout_s=120),
    ):
        yield Stack(gateway=gateway, simulator=simulator)


@pytest.fixture(scope="module")
def business(stack: Stack) -> Stack:
    """The simulator's account on the Business plan and the gateway's gate open, as an operator would do it."""
    httpx.put(f"{stack.simulator}/_sim/plan", json={"plan": "business"}).raise_for_status()
    gate = httpx.put(
        f"{stack.gateway}/api/v1/admin/settings",
        json={"business_plan_active": True},
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
    )
    assert gate.status_code == 200, gate.text
    time.sleep(0.2)  # the gateway re-reads runtime settings every RUNTIME_SETTINGS_TTL_S (0.1 s here)
    return stack


async def receive_json(ws: ClientConnection) -> dict[str, Any]:
    return dict(json.loads(await ws.recv(decode=True)))


def pcm_samples(frames: list[dict[str, Any]]) -> int:
    """What the client itself counts: 16-bit mono PCM after the 44-byte WAV header of the first frame."""
    audio = b"".join(base64.b64decode(frame["audio_content"]) for frame in frames)
    assert audio[:4] == b"RIFF"
    return (len(audio) - 44) // 2


def pcm_seconds(frames: list[dict[str, Any]]) -> Decimal:
    """The seconds received, to the microsecond and rounded down, as the gateway charges them."""
    return (Decimal(pcm_samples(frames)) / SAMPLE_RATE).quantize(Decimal("0.000001"), rounding=ROUND_DOWN)


async def speak(ws: ClientConnection, text: str, **fields: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Send one utterance; its audio frames and the frame that ended it (`audio_end` or `error`)."""
    await ws.send(json.dumps({"voice_uuid": STOCK_VOICE, "data": text, "sample_rate": SAMPLE_RATE, **fields}))
    frames = []
    while (frame := await receive_json(ws))["type"] == "audio":
        frames.append(frame)
    return frames, frame


def charge_for(seconds: Decimal) -> Decimal:
    return quantize_usd(quantize_usd(seconds * TTS_USD_PER_S) * MARKUP)


async def wait_for_requests(stack: Stack, api_key: str, count: int) -> dict[str, Any]:
    """The user's usage once `count` TTS requests are recorded (a disconnect is settled after the client left)."""
    deadline = time.monotonic() + 10
    while True:
        usage = await stack.usage(api_key)
        tts = [row for row in usage["by_capability"] if row["capability"] == "tts"]
        if (tts and tts[0]["requests"] >= count) or time.monotonic() > deadline:
            return usage
        await asyncio.sleep(0.05)


async def test_gate_closed_refuses_the_socket_without_calling_upstream(stack: Stack):
    key = await stack.new_user()
    async with stack.open(key) as ws:
        frame = await receive_json(ws)
        with pytest.raises(ConnectionClosed):
            await ws.recv()
    assert frame["type"] == "error"
    assert frame["error_name"] == "BusinessPlanRequired"
    assert frame["status_code"] == 503
    assert "Business-plan" in frame["message"]
    assert ws.close_code == 1008
    assert await stack.stream_sessions() == []


@pytest.mark.parametrize("credential", [None, "vg_not_a_real_key", "not-a-token"])
async def test_a_bad_credential_is_refused(stack: Stack, credential: str | None):
    async with stack.open(credential) as ws:
        frame = await receive_json(ws)
        with pytest.raises(ConnectionClosed):
            await ws.recv()
    assert (frame["type"], frame["status_code"], frame["error_name"]) == ("error", 401, "Unauthorized")
    assert ws.close_code == 1008


async def test_two_utterances_on_one_socket_are_billed_separately(business: Stack):
    key = await business.new_user()
    async with business.open(key) as ws:
        first_frames, first_end = await speak(ws, "Hello there, this is the first utterance.")
        second_text = "And a second, somewhat longer one, on the same socket."
        second_frames, second_end = await speak(ws, second_text, request_id=7)

    assert len(first_frames) > 1  # really streamed, several frames each
    assert len(second_frames) > 1
    assert (first_end["type"], first_end["request_id"]) == ("audio_end", 0)
    assert (second_end["type"], second_end["request_id"]) == ("audio_end", 7)
    assert {frame["request_id"] for frame in second_frames} == {7}
    charged = []
    for frames, end in ((first_frames, first_end), (second_frames, second_end)):
        seconds = pcm_seconds(frames)
        billing = end["billing"]
        assert Decimal(billing["quantity"]) == seconds
        assert Decimal(billing["charged"]) == charge_for(seconds)
        assert billing["unit"] == "audio_seconds"
        charged.append(Decimal(billing["charged"]))
        mirrored = await business.http("GET", end["audio_url"])
        assert mirrored.status_code == 200
        assert mirrored.content[:4] == b"RIFF"
        assert (len(mirrored.content) - 44) // 2 == pcm_samples(frames)
    assert first_end["gateway_request_id"] != second_end["gateway_request_id"]

    usage = await business.usage(key)
    (tts,) = [row for row in usage["by_capability"] if row["capability"] == "tts"]
    assert tts["requests"] == 2
    assert Decimal(tts["charged_usd"]) == sum(charged)
    assert Decimal(usage["credits_usd"]) == Decimal("5.00") - sum(charged)
    assert Decimal(second_end["billing"]["remaining_credits"]) == Decimal(usage["credits_usd"])
    messages = [entry["json"] for entry in await business.stream_sessions() if entry["json"]]
    assert [m["data"] for m in messages[-2:]] == [
        "Hello there, this is the first utterance.",
        "And a second, somewhat longer one, on the same socket.",
    ]
    assert all(entry["headers"]["authorization"] == "Bearer <redacted>" for entry in await business.stream_sessions())


async def test_a_client_leaving_mid_utterance_pays_only_for_what_it_received(business: Stack):
    key = await business.new_user()
    async with business.open(key) as ws:
        await ws.send(json.dumps({"voice_uuid": STOCK_VOICE, "data": LONG_TEXT, "sample_rate": SAMPLE_RATE}))
        received = [await receive_json(ws) for _ in range(3)]
    assert all(frame["type"] == "audio" for frame in received)

    usage = await wait_for_requests(business, key, 1)
    (tts,) = [row for row in usage["by_capability"] if row["capability"] == "tts"]
    seconds, charged = Decimal(tts["quantity"]), Decimal(tts["charged_usd"])
    full_seconds = Decimal(len(LONG_TEXT)) * Decimal("0.06")  # the simulator's speaking rate
    assert pcm_seconds(received) <= seconds < full_seconds / 2
    assert charged == charge_for(seconds)
    # The rest of the hold came back: the balance is down by exactly the charge, and never below zero.
    assert Decimal(usage["credits_usd"]) == Decimal("5.00") - charged >= 0


async def test_a_third_concurrent_socket_is_closed_try_again_later(business: Stack):
    key = await business.new_user()
    async with business.open(key) as one, business.open(key) as two:
        for ws in (one, two):  # an answered message proves the socket holds its slot
            await ws.send("not json")
            assert (await receive_json(ws))["error_name"] == "BadJSON"
        async with business.open(key) as three:
            frame = await receive_json(three)
            with pytest.raises(ConnectionClosed):
                await three.recv()
        assert (frame["status_code"], frame["error_name"]) == (429, "TooManyStreams")
        assert three.close_code == 1013
    deadline = time.monotonic() + 5
    while True:  # closing frees the slots, as soon as the gateway has seen the sockets go
        async with business.open(key) as again:
            _, end = await speak(again, "Room for one more.")
        if end["type"] == "audio_end" or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    assert end["type"] == "audio_end", end


async def test_another_users_voice_is_not_found_without_calling_upstream(business: Stack):
    owner, other = await business.new_user(), await business.new_user()
    consent = {"name": "Owner's voice", "consent_text": "I agree to have my voice cloned."}
    created = await business.http("POST", f"{business.gateway}/api/v1/resemble/voices", owner, json=consent)
    assert created.status_code == 200, created.text
    voice = created.json()["item"]["uuid"]
    before = len(await business.stream_sessions())
    async with business.open(other) as ws:
        frames, frame = await speak(ws, "Let me borrow this voice.", voice_uuid=voice)
        assert frames == []
        assert (frame["type"], frame["status_code"]) == ("error", 404)
        await ws.send("{}")  # the socket stays open for the next message
        assert (await receive_json(ws))["status_code"] == 400
    assert len(await business.stream_sessions()) == before
    assert await business.credits(other) == Decimal("5.00")


async def test_insufficient_credit_is_a_402_frame_and_the_socket_stays_open(business: Stack):
    key = await business.new_user(credits="0.00")
    before = len(await business.stream_sessions())
    async with business.open(key) as ws:
        frames, frame = await speak(ws, "I cannot pay for this.")
        assert frames == []
        assert (frame["type"], frame["status_code"]) == ("error", 402)
        assert "Insufficient credits" in frame["message"]
        _, again = await speak(ws, "Nor for this.")
        assert again["status_code"] == 402
    assert len(await business.stream_sessions()) == before
    assert await business.credits(key) == Decimal("0.00")


async def test_an_upstream_error_is_a_502_frame_and_releases_the_hold(business: Stack):
    key = await business.new_user()
    fault = {"path": "^/stream$", "status": 500}
    (await business.http("POST", f"{business.simulator}/_sim/faults", json=fault)).raise_for_status()
    async with business.open(key) as ws:
        frames, frame = await speak(ws, "This one fails upstream.")
        assert frames == []
        assert (frame["type"], frame["status_code"], frame["error_name"]) == ("error", 502, "UpstreamError")
        _, end = await speak(ws, "This one goes through.")  # same socket, same upstream connection
        assert end["type"] == "audio_end"
    usage = await business.usage(key)
    assert Decimal(usage["credits_usd"]) == Decimal("5.00") - Decimal(end["billing"]["charged"])


async def test_an_upstream_cut_mid_utterance_charges_the_audio_already_delivered(business: Stack):
    key = await business.new_user()
    text = "This sentence is long enough to be cut off halfway through by the upstream server."
    async with business.open(key) as ws:
        _, whole = await speak(ws, text)
        fault = {"path": "^/stream$", "mode": "reset"}
        (await business.http("POST", f"{business.simulator}/_sim/faults", json=fault)).raise_for_status()
        frames, cut = await speak(ws, text)
        assert frames  # some audio reached the client before Resemble's socket went away
        assert (cut["type"], cut["status_code"], cut["error_name"]) == ("error", 502, "UpstreamError")
        charged, full = Decimal(cut["billing"]["charged"]), Decimal(whole["billing"]["charged"])
        assert Decimal(0) < charged < full
        assert Decimal(str(cut["audio_duration"])) < Decimal(str(whole["audio_duration"]))
        _, after = await speak(ws, "The next one reconnects.")
        assert after["type"] == "audio_end"
    usage = await business.usage(key)
    spent = full + charged + Decimal(after["billing"]["charged"])
    assert Decimal(usage["credits_usd"]) == Decimal("5.00") - spent


async def test_bad_messages_are_400_frames_and_change_nothing(business: Stack):
    key = await business.new_user()
    before = len(await business.stream_sessions())
    async with business.open(key) as ws:
        for message in ("[1, 2]", json.dumps({"voice_uuid": STOCK_VOICE}), json.dumps({"data": "x" * 3001})):
            await ws.send(message)
            frame = await receive_json(ws)
            assert (frame["type"], frame["status_code"]) == ("error", 400)
        _, frame = await speak(ws, "mp3 please", output_format="mp3")
        assert frame["status_code"] == 400
        assert "output_format" in frame["message"]
    assert len(await business.stream_sessions()) == before
    assert await business.credits(key) == Decimal("5.00")


async def test_binary_frames_without_a_header_are_counted_as_raw_pcm(business: Stack):
    key = await business.new_user()
    async with business.open(key) as ws:
        text = "Raw samples, please, with no header at all."
        message = {"voice_uuid": STOCK_VOICE, "data": text, "sample_rate": 16000, "precision": "PCM_16"}
        await ws.send(json.dumps({**message, "binary_response": True, "no_audio_header": True}))
        chunks = []
        while isinstance(frame := await ws.recv(), bytes):
            chunks.append(frame)
        end = json.loads(frame)
    audio = b"".join(chunks)
    assert len(chunks) > 1
    assert audio[:4] != b"RIFF"
    assert end["type"] == "audio_end"
    expected = (Decimal(len(audio) // 2) / 16000).quantize(Decimal("0.000001"), rounding=ROUND_DOWN)
    assert Decimal(end["billing"]["quantity"]) == expected
    assert Decimal(end["billing"]["charged"]) == charge_for(expected)


async def test_each_utterance_counts_against_the_tts_rate_limit(business: Stack):
    key = await business.new_user()
    async with business.open(key) as ws:
        ends = [(await speak(ws, f"Utterance {n}."))[1] for n in range(TTS_PER_MINUTE)]
        frames, limited = await speak(ws, "One too many.")
        assert [end["type"] for end in ends] == ["audio_end"] * TTS_PER_MINUTE
        assert frames == []
        assert (limited["type"], limited["status_code"], limited["error_name"]) == ("error", 429, "RateLimited")
        assert "Rate limit exceeded for tts" in limited["message"]
        await ws.send("still open?")
        assert (await receive_json(ws))["error_name"] == "BadJSON"
    usage = await business.usage(key)
    (tts,) = [row for row in usage["by_capability"] if row["capability"] == "tts"]
    assert tts["requests"] == TTS_PER_MINUTE
