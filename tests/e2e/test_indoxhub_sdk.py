"""The published `indoxhub==0.2.2` SDK, unchanged, against the gateway and the simulator as real servers."""

from __future__ import annotations

import base64
import io
import wave
from decimal import Decimal

import httpx
import pytest
from indoxhub import Client
from indoxhub.exceptions import InsufficientCreditsError, RateLimitError, RequestError
from mutagen.mp3 import MP3

from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e


def test_connection_reports_the_service(stack: Stack):
    client = Client(api_key=stack.new_user()["api_key"], base_url=stack.gateway)
    info = client.test_connection()
    assert info["status"] == "connected"
    assert info["server_info"]["service"] == "voicegate"


def test_voices_and_synthesis_end_to_end(stack: Stack):
    user = stack.new_user(credits="5.00")
    client = Client(api_key=user["api_key"], base_url=stack.gateway)

    voices = client.resemble.tts.list_voices(page=1, page_size=10)
    assert voices["items"]
    voice = client.resemble.tts.get_voice(voices["items"][0]["uuid"])
    voice_uuid = voice["item"]["uuid"]

    wav = client.resemble.tts.synthesize(
        voice_uuid=voice_uuid,
        text="The spine holds. " * 6,
        output_format="wav",
        sample_rate=22050,
        precision="PCM_16",
    )
    with wave.open(io.BytesIO(base64.b64decode(wav["audio_content"]))) as decoded:
        assert decoded.getnframes() / decoded.getframerate() == pytest.approx(wav["audio_duration"], abs=0.05)
    downloaded = httpx.get(wav["audio_url"])
    assert downloaded.status_code == 200
    assert downloaded.content == base64.b64decode(wav["audio_content"])

    mp3 = client.resemble.tts.synthesize(voice_uuid=voice_uuid, text="And in mp3. " * 6)
    audio = base64.b64decode(mp3["audio_content"])
    assert MP3(io.BytesIO(audio)).info.length == pytest.approx(mp3["audio_duration"], abs=0.1)
    assert httpx.get(mp3["audio_url"]).content == audio

    spent = Decimal(0)
    for result in (wav, mp3):
        billing = result["billing"]
        cost = (Decimal(str(billing["quantity"])) * Decimal("0.0005")).quantize(Decimal("0.000001"))
        assert Decimal(billing["provider_cost"]) == cost
        assert Decimal(billing["charged"]) == (cost * Decimal("1.2")).quantize(Decimal("0.000001"))
        spent += Decimal(billing["charged"])
    assert Decimal(stack.balance(user["api_key"])) == Decimal("5") - spent
    usage = client.get_usage()  # the SDK returns the body as is: the balance arrives as an exact decimal string
    assert usage["remaining_credits"] == usage["credits_usd"] == stack.balance(user["api_key"])


def test_insufficient_credits(stack: Stack):
    user = stack.new_user(credits="0.000001")
    client = Client(api_key=user["api_key"], base_url=stack.gateway)
    voice_uuid = client.resemble.tts.list_voices()["items"][0]["uuid"]
    with pytest.raises(InsufficientCreditsError):
        client.resemble.tts.synthesize(voice_uuid=voice_uuid, text="Too expensive for me.")


def test_rate_limit(stack: Stack):
    user = stack.new_user()
    client = Client(api_key=user["api_key"], base_url=stack.gateway)
    voice_uuid = client.resemble.tts.list_voices()["items"][0]["uuid"]
    for _ in range(6):
        client.resemble.tts.synthesize(voice_uuid=voice_uuid, text="again")
    with pytest.raises(RateLimitError):
        client.resemble.tts.synthesize(voice_uuid=voice_uuid, text="again")


def test_upstream_500_is_502_and_free(stack: Stack):
    user = stack.new_user(credits="1.00")
    client = Client(api_key=user["api_key"], base_url=stack.gateway)
    voice_uuid = client.resemble.tts.list_voices()["items"][0]["uuid"]
    stack.fault(path="/synthesize", status=500, count=1)
    with pytest.raises(RequestError, match="502"):
        client.resemble.tts.synthesize(voice_uuid=voice_uuid, text="This one fails upstream.")
    assert Decimal(stack.balance(user["api_key"])) == Decimal("1")
