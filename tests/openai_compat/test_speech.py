"""`POST /v1/audio/speech` through HTTP on the ASGI app, with the in-process simulator as Resemble.

Real-socket streaming (the first chunk before the last is produced, a client hanging up) is proven against real
servers in tests/e2e/test_openai_sdk_speech.py; here the stream's billing is checked from the delivered bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import wave
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import av
import httpx
import pytest
from fastapi import FastAPI
from mutagen.mp3 import MP3
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests import services
from tests.conftest import make_settings
from tests.downloads import download
from tests.factories import Customer, create_customer
from tests.resemble.catalogue.conftest import A_VOICE, own
from voicegate.app import create_app
from voicegate.db.models import CreditHold, ProviderResembleAsset, ProviderResembleRequest, ProviderResembleUsage, User

URL = "/v1/audio/speech"
NATIVE = "/api/v1/resemble/tts/synthesize"
STOCK_VOICE = "55592656"  # what "alloy" maps to by default
TEXT = "The quick brown fox jumps over the lazy dog."  # 44 characters: 2.64 s at the simulator's 0.06 s a character
WAV_BYTES_PER_S = 48_000 * 2
PCM_BYTES_PER_S = 24_000 * 2


@pytest.fixture(scope="module")
async def app(
    var_dir: Any, database_url: str, redis_url: str | None, storage_settings: dict[str, object]
) -> AsyncIterator[FastAPI]:
    """One gateway (and in-process simulator) for the module; every test makes its own customer."""
    application = create_app(make_settings(var_dir, database_url, redis_url, storage_settings))
    async with application.router.lifespan_context(application):
        yield application
        await services.truncate_all(application.state.resources.engine)


@pytest.fixture
async def customer(session: AsyncSession) -> Customer:
    return await create_customer(session, credits="10.00")


def speech(**fields: Any) -> dict[str, Any]:
    return {"model": "tts-1", "input": TEXT, "voice": "alloy", **fields}


async def synth_calls(simulator: httpx.AsyncClient) -> list[dict[str, Any]]:
    calls = (await simulator.get("/_sim/requests")).json()
    return [c for c in calls if c["path"] in ("/synthesize", "/stream")]


async def usage_of(session: AsyncSession, request_id: str) -> ProviderResembleUsage:
    usage = await session.scalar(select(ProviderResembleUsage).where(ProviderResembleUsage.request_id == request_id))
    assert usage is not None, f"no usage row for {request_id}"
    return usage


async def balance(session: AsyncSession, user_id: str) -> Decimal:
    value = await session.scalar(select(User.balance_usd).where(User.id == user_id))
    assert value is not None
    return value


async def count(session: AsyncSession, model: type, user_id: str) -> int:
    return int(await session.scalar(select(func.count()).select_from(model).where(model.user_id == user_id)) or 0)


def decoded_seconds(data: bytes) -> float:
    """Decode every frame with FFmpeg (PyAV) and add up the samples."""
    with av.open(io.BytesIO(data), "r") as container:
        stream = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(stream))
        return samples / stream.rate


class TestFinishedClips:
    async def test_mp3_is_resembles_mp3_billed_in_headers(
        self, client: httpx.AsyncClient, session: AsyncSession, customer: Customer
    ):
        response = await client.post(URL, json=speech(), headers=customer.headers)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "audio/mpeg"
        seconds = float(response.headers["x-voicegate-audio-seconds"])
        assert seconds == pytest.approx(2.64, abs=0.05)
        assert MP3(io.BytesIO(response.content)).info.length == pytest.approx(seconds, abs=0.1)

        usage = await usage_of(session, response.headers["x-voicegate-request-id"])
        assert str(usage.charged_usd.quantize(Decimal("0.000001"))) == response.headers["x-voicegate-charged-usd"]
        assert Decimal(response.headers["x-voicegate-remaining-credits"]) == await balance(session, customer.user.id)
        assert Decimal(response.headers["x-voicegate-remaining-credits"]) == Decimal("10") - usage.charged_usd
        assert response.headers["x-request-id"]
        assert await download(client, response.headers["x-voicegate-asset-url"]) == response.content

    @pytest.mark.parametrize(
        ("fmt", "content_type", "codec"),
        [("opus", "audio/ogg", "opus"), ("aac", "audio/aac", "aac"), ("flac", "audio/flac", "flac")],
    )
    async def test_converted_formats_decode_to_the_billed_duration(
        self,
        client: httpx.AsyncClient,
        session: AsyncSession,
        customer: Customer,
        fmt: str,
        content_type: str,
        codec: str,
    ):
        response = await client.post(URL, json=speech(response_format=fmt), headers=customer.headers)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == content_type
        with av.open(io.BytesIO(response.content), "r") as container:
            assert container.streams.audio[0].codec_context.name == codec
        billed = float((await usage_of(session, response.headers["x-voicegate-request-id"])).quantity)
        assert decoded_seconds(response.content) == pytest.approx(billed, abs=0.05)

    async def test_pcm_with_idempotency_key_is_a_finished_24khz_clip(
        self, client: httpx.AsyncClient, session: AsyncSession, customer: Customer
    ):
        headers = {**customer.headers, "Idempotency-Key": "pcm-once"}
        response = await client.post(URL, json=speech(response_format="pcm"), headers=headers)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "audio/pcm"
        assert "x-voicegate-charged-usd" in response.headers  # the finished-clip path, not the stream
        billed = float(response.headers["x-voicegate-audio-seconds"])
        assert len(response.content) % 2 == 0
        assert len(response.content) / PCM_BYTES_PER_S == pytest.approx(billed, abs=0.01)


class TestStreams:
    async def test_wav_streams_and_bills_the_delivered_audio(
        self, client: httpx.AsyncClient, simulator: httpx.AsyncClient, session: AsyncSession, customer: Customer
    ):
        await simulator.delete("/_sim/requests")
        response = await client.post(URL, json=speech(response_format="wav"), headers=customer.headers)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "audio/wav"
        assert [c["path"] for c in await synth_calls(simulator)] == ["/stream"]
        with wave.open(io.BytesIO(response.content)) as decoded:
            assert (decoded.getframerate(), decoded.getsampwidth(), decoded.getnchannels()) == (48_000, 2, 1)
            duration = decoded.getnframes() / decoded.getframerate()
        assert duration == pytest.approx(2.64, abs=0.05)

        request_id = response.headers["x-voicegate-request-id"]
        usage = await usage_of(session, request_id)
        assert float(usage.quantity) == pytest.approx((len(response.content) - 44) / WAV_BYTES_PER_S, abs=1e-6)
        hold = await session.scalar(select(CreditHold).where(CreditHold.correlation_id == request_id))
        assert hold is not None
        assert hold.status == "captured"
        assert hold.amount_usd == Decimal(response.headers["x-voicegate-held-usd"]) > usage.charged_usd
        assert await balance(session, customer.user.id) == Decimal("10") - usage.charged_usd
        asset = await session.scalar(
            select(ProviderResembleAsset).where(ProviderResembleAsset.request_id == request_id)
        )
        assert asset is not None
        assert asset.content_type == "audio/wav"

    async def test_pcm_streams_24khz_mono_samples(
        self, client: httpx.AsyncClient, simulator: httpx.AsyncClient, session: AsyncSession, customer: Customer
    ):
        await simulator.delete("/_sim/requests")
        response = await client.post(URL, json=speech(response_format="pcm"), headers=customer.headers)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "audio/pcm"
        assert [c["path"] for c in await synth_calls(simulator)] == ["/stream"]
        assert not response.content.startswith(b"RIFF")
        assert len(response.content) / PCM_BYTES_PER_S == pytest.approx(2.64, abs=0.05)
        usage = await usage_of(session, response.headers["x-voicegate-request-id"])
        assert float(usage.quantity) == pytest.approx(len(response.content) / PCM_BYTES_PER_S, abs=1e-6)

    async def test_a_client_that_hangs_up_pays_only_for_what_reached_it(
        self, app: FastAPI, session: AsyncSession, customer: Customer
    ):
        status, received = await post_and_hang_up(app, speech(response_format="wav"), customer.headers)
        assert status == 200
        assert received.startswith(b"RIFF")
        request = await session.scalar(
            select(ProviderResembleRequest).where(ProviderResembleRequest.user_id == customer.user.id)
        )
        assert request is not None
        hold = await session.scalar(select(CreditHold).where(CreditHold.correlation_id == request.id))
        assert hold is not None
        assert hold.status != "held"  # settled when the stream ended, not left to the sweep
        billed = await session.scalar(
            select(func.coalesce(func.sum(ProviderResembleUsage.quantity), 0)).where(
                ProviderResembleUsage.user_id == customer.user.id
            )
        )
        assert Decimal(billed) <= Decimal(len(received) - 44) / WAV_BYTES_PER_S
        assert Decimal(billed) < Decimal("2.6")  # less than the clip Resemble made
        assert await balance(session, customer.user.id) >= Decimal("10") - hold.amount_usd

    async def test_long_input_is_answered_as_a_finished_clip(
        self, client: httpx.AsyncClient, simulator: httpx.AsyncClient, customer: Customer
    ):
        await simulator.delete("/_sim/requests")
        body = speech(response_format="wav", input="Word " * 420)  # 2,100 characters: past /stream's 2,000
        response = await client.post(URL, json=body, headers=customer.headers)
        assert response.status_code == 200, response.text
        assert [c["path"] for c in await synth_calls(simulator)] == ["/synthesize"]
        with wave.open(io.BytesIO(response.content)) as decoded:
            assert decoded.getnframes() / decoded.getframerate() == pytest.approx(
                float(response.headers["x-voicegate-audio-seconds"]), abs=0.01
            )


async def post_and_hang_up(app: FastAPI, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, bytes]:
    """POST to the ASGI app as a client that reads the WAV header and first audio chunk, then goes away: the
    connection reports the disconnect, and every later write fails as on a closed socket."""
    payload = json.dumps(body).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": URL,
        "raw_path": URL.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
            *((name.lower().encode(), value.encode()) for name, value in headers.items()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    hung_up = asyncio.Event()
    request_sent = False
    status = 0
    received = bytearray()

    async def receive() -> dict[str, Any]:
        nonlocal request_sent
        if not request_sent:
            request_sent = True
            return {"type": "http.request", "body": payload, "more_body": False}
        await hung_up.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if hung_up.is_set():
            raise OSError("connection closed by the client")
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            received.extend(message.get("body", b""))
            if len(received) > 44:
                hung_up.set()

    with contextlib.suppress(OSError):
        await app(scope, receive, send)
    return status, bytes(received)


class TestBilling:
    @pytest.mark.parametrize("fmt", ["mp3", "wav"])
    async def test_charge_equals_native_tts_for_the_same_text(
        self, client: httpx.AsyncClient, session: AsyncSession, customer: Customer, fmt: str
    ):
        native_body: dict[str, Any] = {"voice_uuid": STOCK_VOICE, "text": TEXT, "output_format": fmt}
        if fmt == "wav":
            native_body |= {"precision": "PCM_16", "sample_rate": 48000}
        native = await client.post(NATIVE, json=native_body, headers=customer.headers)
        assert native.status_code == 200, native.text
        ours = await client.post(URL, json=speech(response_format=fmt), headers=customer.headers)
        assert ours.status_code == 200, ours.text
        usage = await usage_of(session, ours.headers["x-voicegate-request-id"])
        billing = native.json()["billing"]
        assert (usage.unit, usage.capability) == (billing["unit"], "tts")
        assert str(usage.quantity.quantize(Decimal("0.000001"))) == billing["quantity"]
        assert str(usage.charged_usd.quantize(Decimal("0.000001"))) == billing["charged"]
        assert str(usage.unit_price_usd.quantize(Decimal("0.000001"))) == billing["unit_price"]

    async def test_idempotent_retry_replays_without_a_second_charge(
        self, client: httpx.AsyncClient, simulator: httpx.AsyncClient, session: AsyncSession, customer: Customer
    ):
        await simulator.delete("/_sim/requests")
        headers = {**customer.headers, "Idempotency-Key": "speak-once"}
        first = await client.post(URL, json=speech(response_format="opus"), headers=headers)
        again = await client.post(URL, json=speech(response_format="opus"), headers=headers)
        assert (first.status_code, again.status_code) == (200, 200)
        assert again.headers["idempotent-replayed"] == "true"
        assert again.headers["x-voicegate-request-id"] == first.headers["x-voicegate-request-id"]
        assert decoded_seconds(again.content) == pytest.approx(decoded_seconds(first.content), abs=0.001)
        assert len(await synth_calls(simulator)) == 1
        assert await count(session, ProviderResembleUsage, customer.user.id) == 1
        charged = Decimal(first.headers["x-voicegate-charged-usd"])
        assert await balance(session, customer.user.id) == Decimal("10") - charged

    @pytest.mark.parametrize("fmt", ["mp3", "wav"])
    async def test_insufficient_credits_is_402_in_openai_shape(
        self, client: httpx.AsyncClient, simulator: httpx.AsyncClient, session: AsyncSession, fmt: str
    ):
        poor = await create_customer(session, credits="0.000001")
        await simulator.delete("/_sim/requests")
        response = await client.post(URL, json=speech(response_format=fmt), headers=poor.headers)
        assert response.status_code == 402
        error = response.json()["error"]
        assert (error["type"], error["code"]) == ("insufficient_quota", "insufficient_quota")
        assert "Insufficient credits" in error["message"]
        assert await synth_calls(simulator) == []
        assert await balance(session, poor.user.id) == Decimal("0.000001")

    @pytest.mark.parametrize(("fmt", "path"), [("mp3", "/synthesize"), ("wav", "/stream"), ("flac", "/synthesize")])
    async def test_upstream_5xx_is_502_and_free(
        self,
        client: httpx.AsyncClient,
        simulator: httpx.AsyncClient,
        session: AsyncSession,
        customer: Customer,
        fmt: str,
        path: str,
    ):
        await simulator.post("/_sim/faults", json={"path": path, "status": 500, "count": 1})
        response = await client.post(URL, json=speech(response_format=fmt), headers=customer.headers)
        assert response.status_code == 502
        assert response.json()["error"]["type"] == "api_error"
        assert await balance(session, customer.user.id) == Decimal("10")
        assert await count(session, ProviderResembleUsage, customer.user.id) == 0
        hold = await session.scalar(select(CreditHold).where(CreditHold.user_id == customer.user.id))
        assert hold is not None
        assert hold.status == "released"


class TestRequests:
    async def test_unknown_model_is_400_in_openai_shape(self, client: httpx.AsyncClient, customer: Customer):
        response = await client.post(URL, json=speech(model="eleven_v3"), headers=customer.headers)
        assert response.status_code == 400
        error = response.json()["error"]
        assert (error["type"], error["code"], error["param"]) == ("invalid_request_error", "model_not_found", "model")
        assert "resemble/chatterbox" in error["message"]

    async def test_unknown_voice_uuid_is_404_without_upstream_call(
        self, client: httpx.AsyncClient, simulator: httpx.AsyncClient, session: AsyncSession, customer: Customer
    ):
        await simulator.delete("/_sim/requests")
        response = await client.post(URL, json=speech(voice="deadbeef"), headers=customer.headers)
        assert response.status_code == 404
        assert response.json()["error"]["message"] == "Voice not found"
        assert await synth_calls(simulator) == []
        assert await count(session, CreditHold, customer.user.id) == 0

    async def test_a_voice_name_that_is_no_uuid_is_400(self, client: httpx.AsyncClient, customer: Customer):
        response = await client.post(URL, json=speech(voice="Morgan Freeman"), headers=customer.headers)
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["param"] == "voice"
        assert "alloy" in error["message"]

    async def test_another_users_custom_voice_is_404_without_upstream_call(
        self, client: httpx.AsyncClient, simulator: httpx.AsyncClient, session: AsyncSession, customer: Customer
    ):
        alice = await create_customer(session, credits="5.00")
        own(session, A_VOICE, alice)
        await session.commit()
        await simulator.delete("/_sim/requests")
        response = await client.post(URL, json=speech(voice=A_VOICE), headers=customer.headers)
        assert response.status_code == 404
        assert await synth_calls(simulator) == []
        assert await count(session, CreditHold, customer.user.id) == 0

        mine = await client.post(URL, json=speech(voice={"id": A_VOICE}), headers=alice.headers)
        assert mine.status_code == 200, mine.text
        assert [c["json"]["voice_uuid"] for c in await synth_calls(simulator)] == [A_VOICE]

    async def test_voice_names_follow_the_configured_map(
        self, client: httpx.AsyncClient, simulator: httpx.AsyncClient, customer: Customer
    ):
        await simulator.delete("/_sim/requests")
        for name in ("alloy", "onyx"):
            response = await client.post(URL, json=speech(voice=name), headers=customer.headers)
            assert response.status_code == 200, response.text
        assert [c["json"]["voice_uuid"] for c in await synth_calls(simulator)] == ["55592656", "b2d1bb75"]

    async def test_speed_is_spoken_as_prosody(self, client: httpx.AsyncClient, customer: Customer):
        fast = await client.post(URL, json=speech(speed=2.0), headers=customer.headers)
        assert fast.status_code == 200, fast.text
        assert float(fast.headers["x-voicegate-audio-seconds"]) == pytest.approx(2.64 / 2, abs=0.1)

    @pytest.mark.parametrize(
        ("fields", "param"),
        [({"speed": 3.0}, "speed"), ({"speed": 0.3}, "speed"), ({"stream_format": "sse"}, "stream_format")],
    )
    async def test_what_resemble_cannot_do_is_400(
        self, client: httpx.AsyncClient, customer: Customer, fields: dict[str, Any], param: str
    ):
        response = await client.post(URL, json=speech(**fields), headers=customer.headers)
        assert response.status_code == 400
        assert response.json()["error"]["param"] == param

    async def test_instructions_are_accepted(self, client: httpx.AsyncClient, customer: Customer):
        response = await client.post(URL, json=speech(instructions="Speak warmly."), headers=customer.headers)
        assert response.status_code == 200, response.text

    async def test_bad_key_is_401_in_openai_shape(self, client: httpx.AsyncClient):
        response = await client.post(URL, json=speech(), headers={"Authorization": "Bearer vg_wrong"})
        assert response.status_code == 401
        assert response.json()["error"]["type"] == "authentication_error"
