"""The published `openai` SDK, unchanged, against the gateway's `/v1` and the simulator as real servers."""

from __future__ import annotations

import io
import time
import wave
from decimal import ROUND_DOWN, Decimal
from typing import Any

import httpx
import openai
import pytest
from mutagen.mp3 import MP3

from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

TEXT = "The quick brown fox jumps over the lazy dog."  # 2.64 s at the simulator's 0.06 s a character
# 366 characters: about 22 s of audio, which the simulator streams in chunks of 100 ms, 20 ms apart (about 4.4 s)
LONG = "Streaming speech arrives while the rest is still being made. " * 6
LONG_SECONDS = Decimal("0.06") * len(LONG)
WAV_BYTES_PER_S = 48_000 * 2


def sdk(stack: Stack, api_key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{stack.gateway}/v1", api_key=api_key, max_retries=0)


def usage(stack: Stack, api_key: str) -> dict[str, Any]:
    response = httpx.get(f"{stack.gateway}/api/v1/user/usage", headers={"Authorization": f"Bearer {api_key}"})
    assert response.status_code == 200, response.text
    return dict(response.json())


def latest_stream(stack: Stack) -> dict[str, Any]:
    streams = httpx.get(f"{stack.simulator}/_sim/streams").json()
    assert streams, "the simulator served no stream"
    return dict(streams[-1])


def test_mp3_and_wav_decode_to_the_spoken_duration(stack: Stack):
    user = stack.new_user()
    client = sdk(stack, user["api_key"])

    mp3 = client.audio.speech.create(model="tts-1", voice="alloy", input=TEXT)
    billed = float(mp3.response.headers["x-voicegate-audio-seconds"])
    assert billed == pytest.approx(2.64, abs=0.05)
    assert MP3(io.BytesIO(mp3.content)).info.length == pytest.approx(billed, abs=0.1)

    wav = client.audio.speech.create(model="resemble/chatterbox", voice="nova", input=TEXT, response_format="wav")
    assert wav.response.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(wav.content)) as decoded:
        assert decoded.getnframes() / decoded.getframerate() == pytest.approx(2.64, abs=0.05)

    spent = Decimal(usage(stack, user["api_key"])["by_capability"][0]["charged_usd"])
    assert Decimal(usage(stack, user["api_key"])["credits_usd"]) == Decimal(user["credits_usd"]) - spent


def test_streaming_response_arrives_before_the_clip_is_finished(stack: Stack):
    user = stack.new_user()
    client = sdk(stack, user["api_key"])
    with client.audio.speech.with_streaming_response.create(
        model="tts-1", voice="alloy", input=LONG, response_format="wav"
    ) as response:
        chunks = response.iter_bytes()
        first = next(chunks)
        progress = latest_stream(stack)
        assert not progress["finished"]
        assert progress["chunks_sent"] < progress["total_chunks"]
        audio = first + b"".join(chunks)
    assert latest_stream(stack)["finished"]
    with wave.open(io.BytesIO(audio)) as decoded:
        seconds = decoded.getnframes() / decoded.getframerate()
    assert seconds == pytest.approx(float(LONG_SECONDS), abs=0.01)
    billed = wait_for_charge(stack, user["api_key"])
    assert Decimal(billed["quantity"]) == (Decimal(len(audio) - 44) / WAV_BYTES_PER_S).quantize(Decimal("0.000001"))


def test_a_client_that_hangs_up_is_billed_at_most_what_was_delivered(stack: Stack):
    user = stack.new_user()
    headers = {"Authorization": f"Bearer {user['api_key']}"}
    body = {"model": "tts-1", "voice": "alloy", "input": LONG, "response_format": "wav"}
    received = b""
    with httpx.stream("POST", f"{stack.gateway}/v1/audio/speech", json=body, headers=headers) as response:
        assert response.status_code == 200
        for chunk in response.iter_raw():
            received += chunk
            if len(received) >= 44 + WAV_BYTES_PER_S // 5:  # the header and a fifth of a second of audio
                break
    # Leaving the block closes the connection mid-body; the gateway stops reading Resemble and bills what it sent.
    assert received.startswith(b"RIFF")
    billed = wait_for_charge(stack, user["api_key"])
    progress = latest_stream(stack)
    assert progress["disconnected"]
    produced_s = Decimal(progress["bytes_sent"] - 44) / WAV_BYTES_PER_S
    received_s = (Decimal(len(received) - 44) / WAV_BYTES_PER_S).quantize(Decimal("0.000001"), ROUND_DOWN)
    assert received_s <= Decimal(billed["quantity"]) <= produced_s < LONG_SECONDS
    balance = Decimal(usage(stack, user["api_key"])["credits_usd"])
    assert balance == Decimal(user["credits_usd"]) - Decimal(billed["charged_usd"])


def wait_for_charge(stack: Stack, api_key: str, timeout_s: float = 10) -> dict[str, Any]:
    """The caller's one tts usage row once the stream that makes it has settled."""
    deadline = time.monotonic() + timeout_s
    while True:
        rows = usage(stack, api_key)["by_capability"]
        if rows:
            assert len(rows) == 1
            assert rows[0]["requests"] == 1
            return dict(rows[0])
        assert time.monotonic() < deadline, "the stream was never billed"
        time.sleep(0.1)


def test_bad_key_raises_authentication_error(stack: Stack):
    with pytest.raises(openai.AuthenticationError) as raised:
        sdk(stack, "vg_not_a_key").audio.speech.create(model="tts-1", voice="alloy", input=TEXT)
    assert raised.value.status_code == 401


def test_no_credit_raises_402(stack: Stack):
    user = stack.new_user(credits="0.000001")
    with pytest.raises(openai.APIStatusError) as raised:
        sdk(stack, user["api_key"]).audio.speech.create(model="tts-1", voice="alloy", input=TEXT)
    assert raised.value.status_code == 402
    assert "Insufficient credits" in raised.value.message


def test_past_the_tts_cap_raises_rate_limit_error(stack: Stack):
    user = stack.new_user()
    client = sdk(stack, user["api_key"])
    for _ in range(6):  # the stack's tts cap is 6/minute
        client.audio.speech.create(model="tts-1", voice="alloy", input="Hi.")
    with pytest.raises(openai.RateLimitError):
        client.audio.speech.create(model="tts-1", voice="alloy", input="Hi.")


def test_unknown_model_raises_bad_request(stack: Stack):
    user = stack.new_user()
    with pytest.raises(openai.BadRequestError) as raised:
        sdk(stack, user["api_key"]).audio.speech.create(model="eleven_v3", voice="alloy", input=TEXT)
    assert raised.value.code == "model_not_found"
