"""The unchanged indoxhub SDK's generic calls (`text_to_speech`, `speech_to_text`, `models`, `get_usage`) with
Resemble models, against the gateway and the simulator as real servers."""

from __future__ import annotations

import base64
import io
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from indoxhub import Client
from indoxhub.exceptions import InvalidParametersError, ModelNotFoundError, ProviderNotFoundError
from mutagen.mp3 import MP3

from tests.e2e.conftest import Stack
from tests.resemble.jobs.helpers import make_wav

pytestmark = pytest.mark.e2e


def test_text_to_speech_and_speech_to_text(stack: Stack, tmp_path: Path):
    client = Client(api_key=stack.new_user(credits="5.00")["api_key"], base_url=stack.gateway)
    voice = client.resemble.tts.list_voices(page=1, page_size=10)["items"][0]["uuid"]

    speech = client.text_to_speech("Hello from the hub. " * 3, model="resemble/default", voice=voice)
    assert speech["model"] == "resemble/chatterbox"
    audio = base64.b64decode(speech["audio_content"])
    assert MP3(io.BytesIO(audio)).info.length == pytest.approx(speech["audio_duration"], abs=0.1)
    assert httpx.get(speech["audio_url"]).content == audio

    path = tmp_path / "speech.wav"
    path.write_bytes(make_wav(2.0))
    transcript = client.speech_to_text(
        str(path),
        model="resemble/speech-to-text",
        response_format="verbose_json",
        timestamp_granularities=["word", "segment"],
    )
    assert transcript["text"]
    assert transcript["duration"] == pytest.approx(2.0)
    assert transcript["words"][-1]["end"] <= 2.0
    assert transcript["segments"]
    srt = client.speech_to_text(make_wav(1.0), model="resemble/default", response_format="srt")
    assert srt["subtitles"].startswith("1\n00:00:00,000 --> ")

    usage = client.get_usage()
    spent = sum(Decimal(r["billing"]["charged"]) for r in (speech, transcript, srt))
    assert Decimal(usage["total_spent_usd"]) == spent
    assert Decimal(usage["remaining_credits"]) == Decimal("5.00") - spent
    assert usage["total_requests"] == 3
    assert {row["capability"]: row["requests"] for row in usage["by_capability"]} == {"tts": 1, "stt": 2}


def test_other_providers_are_refused_by_name(stack: Stack):
    client = Client(api_key=stack.new_user()["api_key"], base_url=stack.gateway)
    with pytest.raises(InvalidParametersError, match="resemble/chatterbox"):
        client.text_to_speech("hi", model="openai/tts-1", voice="alloy")
    with pytest.raises(InvalidParametersError, match="resemble/speech-to-text"):
        client.speech_to_text(make_wav(1.0))  # the SDK's default model is openai/whisper-1


def test_models(stack: Stack):
    client = Client(api_key=stack.new_user()["api_key"], base_url=stack.gateway)
    providers = client.models()
    assert [p["id"] for p in providers] == ["resemble"]
    resemble = client.models("resemble")
    assert resemble == providers[0]
    turbo = client.get_model_info("resemble", "chatterbox-turbo")
    assert turbo["pricing"]["provider_price"] == "0.0005"
    assert Decimal(turbo["pricing"]["price"]) == Decimal("0.0005") * Decimal("1.2")
    with pytest.raises(ProviderNotFoundError):
        client.models("openai")
    with pytest.raises(ModelNotFoundError):
        client.get_model_info("resemble", "no-such-model")
