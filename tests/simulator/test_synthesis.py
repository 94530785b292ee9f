from __future__ import annotations

import io
from typing import Any

import httpx
import pytest
from mutagen.mp3 import MP3

from voicegate.simulator import SEEDED_VOICES

from .conftest import AUTH, VOICE_UUID, decode_audio, parse_wav, read_pcm_wav

TEXT = "Hello from the Resemble simulator!"


async def synthesize(client: httpx.AsyncClient, **fields: Any) -> httpx.Response:
    return await client.post("/synthesize", json={"voice_uuid": VOICE_UUID, "data": TEXT, **fields}, headers=AUTH)


async def test_default_wav_response(client: httpx.AsyncClient) -> None:
    response = await synthesize(client, title="greeting", project_uuid="abc12345", speed=1.5, model="x")
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert body["issues"] == []
    assert body["title"] == "greeting"
    assert body["output_format"] == "wav"
    assert body["sample_rate"] == 48000
    assert isinstance(body["synth_duration"], float)
    assert body["duration"] == pytest.approx(len(TEXT) * 0.06, abs=1e-3)

    with read_pcm_wav(decode_audio(body)) as wav:
        assert wav.getframerate() == 48000
        assert wav.getsampwidth() == 4  # PCM_32 is the default precision
        assert wav.getnframes() / wav.getframerate() == pytest.approx(body["duration"], abs=1e-3)

    stamps = body["audio_timestamps"]
    assert stamps["graph_chars"] == list(TEXT)
    assert len(stamps["graph_times"]) == len(TEXT)
    assert stamps["graph_times"][0][0] == 0.0
    assert stamps["graph_times"][-1][1] == pytest.approx(body["duration"], abs=1e-3)
    assert all(start < end for start, end in stamps["graph_times"])
    assert len(stamps["phon_chars"]) == len(stamps["phon_times"]) > 0


@pytest.mark.parametrize(("precision", "width"), [("PCM_16", 2), ("PCM_24", 3), ("PCM_32", 4)])
@pytest.mark.parametrize("rate", ["8000", "16000", "22050", "32000", "44100", "48000", 22050, 8000])
async def test_wav_rate_and_precision(client: httpx.AsyncClient, precision: str, width: int, rate: str | int) -> None:
    response = await synthesize(client, precision=precision, sample_rate=rate)
    assert response.status_code == 200
    body = response.json()
    assert body["sample_rate"] == int(rate)
    with read_pcm_wav(decode_audio(body)) as wav:
        assert (wav.getframerate(), wav.getsampwidth(), wav.getnchannels()) == (int(rate), width, 1)
        assert wav.getnframes() / int(rate) == pytest.approx(body["duration"], abs=0.01)


async def test_mulaw_wav(client: httpx.AsyncClient) -> None:
    response = await synthesize(client, precision="MULAW", sample_rate=8000)
    assert response.status_code == 200
    body = response.json()
    info = parse_wav(decode_audio(body))
    assert (info.format_tag, info.bits_per_sample, info.sample_rate) == (7, 8, 8000)
    assert info.duration == pytest.approx(body["duration"], abs=0.01)


async def test_duration_is_proportional_to_text(client: httpx.AsyncClient) -> None:
    durations = {}
    for chars in (50, 100, 400):
        response = await synthesize(client, data="a" * chars, sample_rate=16000, precision="PCM_16")
        body = response.json()
        with read_pcm_wav(decode_audio(body)) as wav:
            assert wav.getnframes() / 16000 == pytest.approx(body["duration"], abs=0.01)
        durations[chars] = body["duration"]
    assert durations[100] == pytest.approx(2 * durations[50], rel=1e-3)
    assert durations[400] == pytest.approx(8 * durations[50], rel=1e-3)
    assert durations[400] == pytest.approx(400 * 0.06, abs=1e-3)


async def test_short_text_has_minimum_duration(client: httpx.AsyncClient) -> None:
    response = await synthesize(client, data="Hi", sample_rate=8000)
    assert response.json()["duration"] == pytest.approx(0.5)


async def test_longest_allowed_text(client: httpx.AsyncClient) -> None:
    response = await synthesize(client, data="x" * 3000, sample_rate=8000, precision="PCM_16")
    assert response.status_code == 200
    assert response.json()["duration"] == pytest.approx(180.0)


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
async def test_mp3(client: httpx.AsyncClient, rate: int) -> None:
    response = await synthesize(client, output_format="mp3", sample_rate=rate)
    assert response.status_code == 200
    body = response.json()
    assert body["output_format"] == "mp3"
    info = MP3(io.BytesIO(decode_audio(body))).info
    assert info.sample_rate == rate
    assert info.length == pytest.approx(body["duration"], abs=0.1)


async def test_voices_sound_different(client: httpx.AsyncClient) -> None:
    first = await synthesize(client, sample_rate=8000)
    second = await client.post(
        "/synthesize",
        json={"voice_uuid": SEEDED_VOICES[1]["uuid"], "data": TEXT, "sample_rate": 8000},
        headers=AUTH,
    )
    assert decode_audio(first.json()) != decode_audio(second.json())
    assert first.json()["duration"] == second.json()["duration"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"sample_rate": 12345}, "sample_rate"),
        ({"sample_rate": "11025"}, "sample_rate"),
        ({"sample_rate": True}, "sample_rate"),
        ({"data": None}, "data"),
        ({"data": ""}, "data"),
        ({"data": 42}, "data"),
        ({"data": "x" * 3001}, "data"),
        ({"voice_uuid": None}, "voice_uuid"),
        ({"precision": "PCM_8"}, "precision"),
        ({"output_format": "ogg"}, "output_format"),
        ({"use_hd": "yes"}, "use_hd"),
        ({"title": 5}, "title"),
    ],
)
async def test_validation_errors(client: httpx.AsyncClient, fields: dict[str, Any], field: str) -> None:
    response = await synthesize(client, **fields)
    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False
    assert field in body["errors"]
    assert isinstance(body["message"], str)


async def test_missing_data_key(client: httpx.AsyncClient) -> None:
    response = await client.post("/synthesize", json={"voice_uuid": VOICE_UUID}, headers=AUTH)
    assert response.status_code == 400
    assert "data" in response.json()["errors"]


@pytest.mark.parametrize("content", [b"", b"{not json", b"[1, 2]"])
async def test_body_must_be_a_json_object(client: httpx.AsyncClient, content: bytes) -> None:
    response = await client.post("/synthesize", content=content, headers=AUTH)
    assert response.status_code == 400
    assert response.json()["success"] is False


async def test_unknown_voice(client: httpx.AsyncClient) -> None:
    response = await synthesize(client, voice_uuid="deadbeef")
    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False
    assert "voice_uuid" in body["errors"]


async def test_ssml_tags_do_not_count_towards_duration(client: httpx.AsyncClient) -> None:
    plain = (await synthesize(client, data="a" * 50, sample_rate=8000)).json()
    tagged = (await synthesize(client, data=f"<speak><p>{'a' * 50}</p></speak>", sample_rate=8000)).json()
    assert tagged["duration"] == pytest.approx(plain["duration"]) == pytest.approx(3.0)
    assert tagged["audio_timestamps"]["graph_chars"] == ["a"] * 50


@pytest.mark.parametrize(("rate", "factor"), [("50%", 2.0), ("200%", 0.5), ("125%", 0.8), ("100%", 1.0)])
async def test_prosody_rate_scales_duration(client: httpx.AsyncClient, rate: str, factor: float) -> None:
    text = "a" * 100
    response = await synthesize(
        client, data=f'<speak><prosody rate="{rate}">{text}</prosody></speak>', sample_rate=8000
    )
    body = response.json()
    assert body["duration"] == pytest.approx(100 * 0.06 * factor, abs=1e-3)
    with read_pcm_wav(decode_audio(body)) as wav:
        assert wav.getnframes() / 8000 == pytest.approx(body["duration"], abs=1e-3)


async def test_ssml_breaks_add_their_pause(client: httpx.AsyncClient) -> None:
    response = await synthesize(
        client, data='<speak>aaaaaaaaaa<break time="750ms"/>bbbbbbbbbb</speak>', sample_rate=8000
    )
    assert response.json()["duration"] == pytest.approx(21 * 0.06 + 0.75, abs=1e-3)
