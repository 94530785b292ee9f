"""The simulator under a real uvicorn server, driven by httpx and by the official `resemble` SDK."""

from __future__ import annotations

import base64
import io
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests
from mutagen.mp3 import MP3
from resemble import Resemble

from voicegate.simulator import SEEDED_VOICES, create_simulator_app
from voicegate.simulator.server import RunningSimulator, running_simulator

from .conftest import API_KEY, AUTH, VOICE_UUID, read_pcm_wav, wav_bytes

pytestmark = pytest.mark.e2e

SERVER_FLAVOURS = [
    pytest.param({}, id="default"),
    pytest.param({"http": "h11", "loop": "asyncio"}, id="h11-asyncio"),
]


@pytest.fixture(scope="module", params=SERVER_FLAVOURS)
def live(request: pytest.FixtureRequest) -> Iterator[RunningSimulator]:
    before = set(threading.enumerate())
    with running_simulator(create_simulator_app(API_KEY, job_delay_s=0.05, plan="business"), **request.param) as sim:
        yield sim
    # AnyIO's worker threads are told to stop when the server's loop ends; give them a moment to exit.
    for thread in set(threading.enumerate()) - before:
        thread.join(timeout=5)
    assert [t for t in set(threading.enumerate()) - before if t.is_alive()] == []


@pytest.fixture
def sim(live: RunningSimulator) -> Iterator[RunningSimulator]:
    yield live
    httpx.delete(f"{live.base_url}/_sim/faults")
    httpx.delete(f"{live.base_url}/_sim/requests")


@pytest.fixture
def sdk(sim: RunningSimulator) -> Iterator[type[Resemble]]:
    saved = {
        name: getattr(Resemble, name) for name in ("_token", "_base_url", "_direct_syn_server_url", "_syn_server_url")
    }
    saved_headers = [dict(h) for h in (Resemble._headers, Resemble._direct_syn_server_headers)]
    Resemble.api_key(API_KEY)
    Resemble.base_url(f"{sim.base_url}/api/")
    Resemble.syn_server_url(sim.synth_url)
    Resemble.direct_syn_server_url(f"{sim.synth_url}/synthesize")
    yield Resemble
    for name, value in saved.items():
        setattr(Resemble, name, value)
    for live_headers, old in zip((Resemble._headers, Resemble._direct_syn_server_headers), saved_headers, strict=True):
        live_headers.clear()
        live_headers.update(old)


def test_sdk_lists_and_gets_voices(sdk: type[Resemble]) -> None:
    page = sdk.v2.voices.all(1, 10)
    assert page["success"] is True
    assert [v["uuid"] for v in page["items"]] == [v["uuid"] for v in SEEDED_VOICES]
    voice = sdk.v2.voices.get(VOICE_UUID)
    assert voice == {"success": True, "item": SEEDED_VOICES[0]}


def test_sdk_direct_synthesis_wav(sdk: type[Resemble], sim: RunningSimulator) -> None:
    result = sdk.v2.clips.create_direct("proj1234", VOICE_UUID, "Hello from the SDK", sample_rate=22050)
    assert result["success"] is True, result
    with read_pcm_wav(base64.b64decode(result["audio_content"])) as wav:
        assert wav.getframerate() == 22050
        assert wav.getsampwidth() == 4
        assert wav.getnframes() / 22050 == pytest.approx(result["duration"], abs=0.01)

    logged = httpx.get(f"{sim.base_url}/_sim/requests").json()
    assert logged[-1]["path"] == "/synthesize"
    assert logged[-1]["headers"]["authorization"] == "Bearer <redacted>"
    assert logged[-1]["json"]["project_uuid"] == "proj1234"


def test_sdk_direct_synthesis_mp3(sdk: type[Resemble]) -> None:
    result = sdk.v2.clips.create_direct("proj1234", VOICE_UUID, "An MP3 this time. " * 10, output_format="mp3")
    assert result["success"] is True, result
    info = MP3(io.BytesIO(base64.b64decode(result["audio_content"]))).info
    assert info.sample_rate == result["sample_rate"] == 48000
    assert info.length == pytest.approx(result["duration"], abs=0.1)


def test_sdk_sees_json_errors(sdk: type[Resemble]) -> None:
    Resemble.api_key("wrong")
    assert sdk.v2.voices.all(1) == {
        "success": False,
        "error": "Invalid API token",
        "message": "Invalid API token",
    }
    Resemble.api_key(API_KEY)
    assert sdk.v2.voices.get("deadbeef")["success"] is False


def _add_fault(sim: RunningSimulator, **fault: Any) -> None:
    response = httpx.post(f"{sim.base_url}/_sim/faults", json=fault)
    assert response.status_code == 201


def test_reset_drops_the_connection_without_a_response(sim: RunningSimulator) -> None:
    _add_fault(sim, path="voices", mode="reset", count=2)
    with httpx.Client(base_url=sim.app_api_url, headers=AUTH) as client, pytest.raises(httpx.TransportError):
        client.get("/voices", params={"page": 1})
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{sim.app_api_url}/voices", params={"page": 1}, headers=AUTH, timeout=5)
    assert httpx.get(f"{sim.app_api_url}/voices", params={"page": 1}, headers=AUTH).status_code == 200


def test_timeout_fault_trips_client_timeout_and_server_recovers(sim: RunningSimulator) -> None:
    _add_fault(sim, path="synthesize", mode="timeout")
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            f"{sim.synth_url}/synthesize",
            json={"voice_uuid": VOICE_UUID, "data": "hi"},
            headers=AUTH,
            timeout=0.3,
        )
    assert time.monotonic() - started < 5
    ok = httpx.post(f"{sim.synth_url}/synthesize", json={"voice_uuid": VOICE_UUID, "data": "hi"}, headers=AUTH)
    assert ok.status_code == 200


def test_malformed_and_status_faults_over_http(sim: RunningSimulator) -> None:
    _add_fault(sim, path="voices", mode="malformed")
    _add_fault(sim, path="voices", status=429)
    url, params = f"{sim.app_api_url}/voices", {"page": 1}
    malformed = httpx.get(url, params=params, headers=AUTH)
    assert malformed.status_code == 200
    assert malformed.text == "<html>oops"
    limited = httpx.get(url, params=params, headers=AUTH)
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "1"
    assert limited.json()["success"] is False


def test_short_timeout_fault_answers_normally_over_http(sim: RunningSimulator) -> None:
    _add_fault(sim, path="voices", mode="timeout", delay_ms=300)
    started = time.monotonic()
    response = httpx.get(f"{sim.app_api_url}/voices", params={"page": 1}, headers=AUTH, timeout=5)
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3


def test_sdk_audio_edit(sdk: type[Resemble]) -> None:
    created = sdk.v2.edits.create("hello there", "hello world", VOICE_UUID, io.BytesIO(wav_bytes(2.0)))
    assert created["success"] is True, created
    assert created["item"]["result_audio_url"] is None
    deadline = time.monotonic() + 5
    while not (item := sdk.v2.edits.get(created["item"]["uuid"])["item"])["result_audio_url"]:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert item["error"] is None
    with read_pcm_wav(httpx.get(item["result_audio_url"]).content) as wav:
        assert wav.getnframes() / wav.getframerate() == pytest.approx(2.0, abs=1e-3)
    assert sdk.v2.edits.all(1)["items"][0]["uuid"] == item["uuid"]


def test_sdk_detect_with_upload_and_url(sdk: type[Resemble], sim: RunningSimulator) -> None:
    blob = wav_bytes(3.0)
    uploaded = sdk.v2.deepfake_detection.detect(file=io.BytesIO(blob), synchronous=True, audio_source_tracing=True)
    assert uploaded["success"] is True, uploaded
    item = uploaded["item"]
    assert (item["status"], item["media_type"]) == ("completed", "audio")
    assert item["duration"] == pytest.approx(3.0)
    assert item["audio_source_tracing"]["label"] in {"resemble_ai", "real"}

    # a URL input is fetched over real HTTP by the simulator's own outbound client (here: its own media URL)
    enhancement = httpx.post(
        f"{sim.app_api_url}/audio_enhancements", files={"audio_file": ("a.wav", blob)}, headers=AUTH
    ).json()
    deadline = time.monotonic() + 5
    while (polled := httpx.get(f"{sim.app_api_url}/audio_enhancements/{enhancement['uuid']}", headers=AUTH).json())[
        "status"
    ] != "completed":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    by_url = sdk.v2.deepfake_detection.detect_and_get(url=polled["enhanced_audio_url"], wait_time=0.05)
    assert by_url["item"]["status"] == "completed", by_url
    assert by_url["item"]["duration"] == pytest.approx(3.0)


def test_sdk_creates_records_builds_and_deletes_a_voice(sdk: type[Resemble]) -> None:
    created = sdk.v2.voices.create("Narrator", consent="I agree", voice_type="professional")
    assert created["success"] is True, created
    voice = created["item"]["uuid"]
    try:
        for index in range(3):
            take = sdk.v2.recordings.create(
                voice, ("take.wav", io.BytesIO(wav_bytes(1.0 + index / 10))), f"take {index}", "Hello.", True, "calm"
            )
            assert take["success"] is True, take
        recordings = sdk.v2.recordings.all(voice, 1)["items"]
        assert [r["name"] for r in recordings] == ["take 0", "take 1", "take 2"]
        first = recordings[0]["uuid"]
        updated = sdk.v2.recordings.update(voice, first, "take 0", "Hello there.", True, "calm", fill=True)
        assert (updated["item"]["text"], updated["item"]["fill"]) == ("Hello there.", True)
        assert sdk.v2.voices.update(voice, "Narrator II")["item"]["name"] == "Narrator II"
        assert sdk.v2.voices.build(voice)["success"] is True
        deadline = time.monotonic() + 5
        while (status := sdk.v2.voices.get(voice)["item"]["status"]) != "finished":
            assert status in {"initializing", "running"}
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert sdk.v2.recordings.delete(voice, first)["success"] is True
    finally:
        assert sdk.v2.voices.delete(voice)["success"] is True
    assert sdk.v2.voices.get(voice)["success"] is False
