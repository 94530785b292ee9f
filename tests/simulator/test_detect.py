"""Deepfake detect, secure uploads, intelligence and audio source tracing."""

from __future__ import annotations

import math
import time
from typing import Any

import httpx
import pytest

from voicegate.simulator import close_simulator_app, create_simulator_app
from voicegate.simulator.detect import fake_score
from voicegate.simulator.media import png_image

from . import media_samples
from .conftest import API_KEY, AUTH, JOB_DELAY_S, PEER, Peer, poll, wait_until, wav_bytes

DETECT = "/api/v2/detect"
INTELLIGENCE = "/api/v2/intelligence"
DESCRIPTION_FIELDS = {
    "speaker_info",
    "language",
    "dialect",
    "emotion",
    "speaking_style",
    "context",
    "message",
    "abnormalities",
    "transcription",
    "translation",
    "misinformation",
    "fraud",
    "liveness",
    "digitally_altered",
}


def settled(body: dict[str, Any]) -> bool:
    return body["item"]["status"] in {"completed", "failed"}


def wav_with_label(label: str) -> bytes:
    """A WAV the simulator's detector calls `label` (its verdict is a deterministic function of the bytes)."""
    for centis in range(100, 400):
        blob = wav_bytes(centis / 100)
        if (fake_score(blob) >= 0.5) == (label == "fake"):
            return blob
    raise AssertionError("no such file")


async def detect(jc: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await jc.post(DETECT, json=body)
    assert response.status_code == 200, response.text
    return response.json()["item"]


async def test_detect_url_audio(jc: httpx.AsyncClient, peer: Peer) -> None:
    blob = wav_bytes(5.0)
    peer.files["a.wav"] = blob
    item = await detect(jc, url=peer.url("a.wav"), frame_length=2, pipeline="general", model_types="x")
    assert item["status"] == "processing"
    assert (item["url"], item["audio_url"], item["filename"]) == (peer.url("a.wav"),) * 2 + ("a.wav",)
    assert item["duration"] is None
    assert "metrics" not in item
    assert item["intelligence"] is None
    assert item["audio_source_tracing"] is None
    assert "watermark" not in item

    done = (await poll(jc, f"{DETECT}/{item['uuid']}", settled))["item"]
    assert done["status"] == "completed"
    assert done["media_type"] == "audio"
    assert done["duration"] == pytest.approx(5.0, abs=1e-3)
    metrics = done["metrics"]
    assert metrics["label"] == ("fake" if fake_score(blob) >= 0.5 else "real")
    assert len(metrics["score"]) == 3  # ceil(5 s / 2 s frames)
    assert all(isinstance(score, str) and 0 <= float(score) <= 1 for score in metrics["score"])
    assert float(metrics["aggregated_score"]) == pytest.approx(fake_score(blob), abs=1e-4)
    assert isinstance(metrics["consistency"], str)
    assert "video_metrics" not in done
    assert "image_metrics" not in done
    assert done["c2pa_manifest"]["validation_state"] == "NotPresent"
    assert done["error_message"] is None
    assert done["modality"] == "all"
    assert done["face_only"] is False

    # the same file always gets the same verdict
    again = (await poll(jc, f"{DETECT}/{(await detect(jc, url=peer.url('a.wav')))['uuid']}", settled))["item"]
    assert again["metrics"]["aggregated_score"] == metrics["aggregated_score"]


async def test_detect_multipart_upload(jc: httpx.AsyncClient) -> None:
    response = await jc.post(DETECT, files={"file": ("clip.wav", wav_bytes(1.0))}, data={"frame_length": "1"})
    assert response.status_code == 200
    item = response.json()["item"]
    assert item["filename"] == "clip.wav"
    assert item["url"].startswith("http://sim/_sim/media/")
    done = (await poll(jc, f"{DETECT}/{item['uuid']}", settled))["item"]
    assert done["duration"] == pytest.approx(1.0)
    assert len(done["metrics"]["score"]) == 1


async def test_detect_with_secure_upload_token(jc: httpx.AsyncClient) -> None:
    upload = await jc.post("/api/v2/secure_uploads", files={"file": ("a.wav", wav_bytes(2.0))})
    assert upload.status_code == 200
    assert set(upload.json()) == {"success", "token"}
    item = await detect(jc, media_token=upload.json()["token"])
    done = (await poll(jc, f"{DETECT}/{item['uuid']}", settled))["item"]
    assert (done["status"], done["media_type"], done["duration"]) == ("completed", "audio", pytest.approx(2.0))

    bad = await jc.post(DETECT, json={"media_token": "forged"})
    assert bad.status_code == 400
    assert "media_token" in bad.json()["errors"]
    assert (await jc.post("/api/v2/secure_uploads", data={"x": "y"})).status_code == 400


async def test_detect_image(jc: httpx.AsyncClient, peer: Peer) -> None:
    peer.files["p.png"] = png_image()
    item = await detect(jc, url=peer.url("p.png"), audio_source_tracing=True)
    done = (await poll(jc, f"{DETECT}/{item['uuid']}", settled))["item"]
    assert (done["media_type"], done["duration"]) == ("image", 0.0)
    assert "metrics" not in done
    assert set(done["image_metrics"]) == {"type", "label", "image", "score", "children"}
    assert done["image_metrics"]["label"] in {"fake", "real"}
    assert done["audio_source_tracing"] is None  # no audio to trace


@pytest.mark.parametrize(
    ("modality", "has_audio", "has_video"), [("all", True, True), ("audio", True, False), ("video", False, True)]
)
async def test_detect_video(jc: httpx.AsyncClient, peer: Peer, modality: str, has_audio: bool, has_video: bool) -> None:
    peer.files["v.mp4"] = media_samples.mp4(4.5)
    item = await detect(jc, url=peer.url("v.mp4"), modality=modality, face_only=True)
    done = (await poll(jc, f"{DETECT}/{item['uuid']}", settled))["item"]
    assert (done["media_type"], done["duration"], done["modality"]) == ("video", pytest.approx(4.5), modality)
    assert done["face_only"] is (modality != "audio")
    assert ("metrics" in done) is has_audio
    assert ("video_metrics" in done) is has_video
    if has_video:
        video = done["video_metrics"]
        assert {"label", "score", "certainty", "children"} <= set(video)
        frames = video["children"][0]["children"]
        assert len(frames) == 5
        assert {"type", "conclusion", "score", "certainty", "certainty (%)", "timestamp", "children"} <= set(frames[0])


async def test_detect_webm_is_video(jc: httpx.AsyncClient) -> None:
    response = await jc.post(DETECT, files={"file": ("v.webm", media_samples.webm(2.0))})
    done = (await poll(jc, f"{DETECT}/{response.json()['item']['uuid']}", settled))["item"]
    assert (done["media_type"], done["duration"]) == ("video", pytest.approx(2.0))


async def test_unfetchable_url_fails_the_job(jc: httpx.AsyncClient) -> None:
    item = await detect(jc, url=f"{PEER}/files/missing.wav")
    done = (await poll(jc, f"{DETECT}/{item['uuid']}", settled))["item"]
    assert done["status"] == "failed"
    assert "HTTP 404" in done["error_message"]
    assert done["duration"] is None
    assert "metrics" not in done


async def test_unreachable_host_fails_the_job() -> None:
    app = create_simulator_app(API_KEY, job_delay_s=0.0)  # its own outbound client, created lazily
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim", headers=AUTH) as c:
        item = (await c.post(DETECT, json={"url": "http://127.0.0.1:9/nothing.wav"})).json()["item"]
        assert item["status"] == "failed"
        assert "Could not fetch media" in item["error_message"]
    await close_simulator_app(app)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "file"),
        ({"url": f"{PEER}/a.wav", "media_token": "t"}, "media_token"),
        ({"url": "not a url"}, "url"),
        ({"url": f"{PEER}/a.wav", "modality": "smell"}, "modality"),
        ({"url": f"{PEER}/a.wav", "frame_length": 5}, "frame_length"),
        ({"url": f"{PEER}/a.wav", "intelligence": "perhaps"}, "intelligence"),
        ({"url": f"{PEER}/a.wav", "callback_url": "nope"}, "callback_url"),
    ],
)
async def test_detect_validation(jc: httpx.AsyncClient, body: dict[str, Any], field: str) -> None:
    response = await jc.post(DETECT, json=body)
    assert response.status_code == 400
    assert response.json()["success"] is False
    assert field in response.json()["errors"]


async def test_detect_prefer_wait(jc: httpx.AsyncClient, peer: Peer) -> None:
    peer.files["a.wav"] = wav_bytes(1.0)
    started = time.monotonic()
    response = await jc.post(DETECT, json={"url": peer.url("a.wav")}, headers={"Prefer": "wait"})
    assert time.monotonic() - started >= JOB_DELAY_S * 0.9
    assert response.json()["item"]["status"] == "completed"
    assert response.json()["item"]["metrics"]["label"] in {"fake", "real"}


@pytest.mark.parametrize(("label", "source"), [("fake", "resemble_ai"), ("real", "real")])
async def test_audio_source_tracing(jc: httpx.AsyncClient, peer: Peer, label: str, source: str) -> None:
    peer.files["a.wav"] = wav_with_label(label)
    item = await detect(jc, url=peer.url("a.wav"), audio_source_tracing=True)
    assert item["audio_source_tracing_enabled"] is True
    assert (await jc.get("/api/v2/audio_source_tracings", params={"page": 1})).json()["items"] == []

    done = (await poll(jc, f"{DETECT}/{item['uuid']}", settled))["item"]
    assert done["metrics"]["label"] == label
    assert done["audio_source_tracing"] == {"label": source, "error_message": None}

    # the tracing report's uuid is found through the list, by detect_uuid
    listed = (await jc.get("/api/v2/audio_source_tracings", params={"page": 1})).json()
    assert (listed["total_count"], listed["num_pages"], listed["page_size"]) == (1, 1, 10)
    report = next(entry for entry in listed["items"] if entry["detect_uuid"] == item["uuid"])
    fetched = await jc.get(f"/api/v2/audio_source_tracings/{report['uuid']}")
    assert fetched.status_code == 200
    assert fetched.json() == {"success": True, "item": report}
    assert set(report) == {"uuid", "results", "created_at", "detect_uuid"}
    assert report["results"] == {"label": source, "error_message": None}
    assert (await jc.get("/api/v2/audio_source_tracings/nope")).status_code == 404


async def test_detect_with_intelligence(jc: httpx.AsyncClient, peer: Peer) -> None:
    peer.files["a.wav"] = wav_bytes(2.0)
    item = await detect(jc, url=peer.url("a.wav"), intelligence=True)
    assert item["intelligence"]["status"] == "processing"
    assert item["intelligence"]["description"] is None
    done = (await poll(jc, f"{DETECT}/{item['uuid']}", settled))["item"]
    embedded = done["intelligence"]
    assert embedded["status"] == "completed"
    assert embedded["detect_uuid"] == item["uuid"]
    assert set(embedded["description"]) == DESCRIPTION_FIELDS
    experts = (await jc.get(f"{DETECT}/{item['uuid']}", params={"experts": "true"})).json()["item"]
    assert experts["intelligence"] == [embedded]

    report = (await jc.get(f"/api/v2/intelligences/{embedded['uuid']}")).json()["item"]
    assert report["description"] == embedded["description"]
    assert report["detect_uuid"] == item["uuid"]
    assert report["media_type"] == "audio"


async def test_detect_list(jc: httpx.AsyncClient, peer: Peer) -> None:
    peer.files["a.wav"] = wav_bytes(0.5)
    uuids = [(await detect(jc, url=peer.url("a.wav")))["uuid"] for _ in range(12)]
    first = (await jc.get(DETECT, params={"page": 1})).json()
    assert (first["total_count"], first["num_pages"], first["page_size"]) == (12, 2, 10)
    assert [item["uuid"] for item in first["items"]] == uuids[::-1][:10]
    assert len((await jc.get(DETECT, params={"page": 2})).json()["items"]) == 2
    assert (await jc.get(DETECT)).status_code == 400
    assert (await jc.get(f"{DETECT}/nope")).status_code == 404


async def test_detect_delete(jc: httpx.AsyncClient, peer: Peer) -> None:
    peer.files["a.wav"] = wav_bytes(0.5)
    kept, gone = [(await detect(jc, url=peer.url("a.wav")))["uuid"] for _ in range(2)]
    deleted = await jc.delete(f"{DETECT}/{gone}")
    assert deleted.status_code == 200
    assert deleted.json()["success"] is True
    assert (await jc.get(f"{DETECT}/{gone}")).status_code == 404
    assert [item["uuid"] for item in (await jc.get(DETECT, params={"page": 1})).json()["items"]] == [kept]
    assert (await jc.delete(f"{DETECT}/{gone}")).status_code == 404


# intelligence


async def test_intelligence_sync(jc: httpx.AsyncClient, peer: Peer) -> None:
    peer.files["a.wav"] = wav_bytes(2.0)
    started = time.monotonic()
    response = await jc.post(INTELLIGENCE, json={"url": peer.url("a.wav")})
    assert time.monotonic() - started >= JOB_DELAY_S * 0.9
    assert response.status_code == 200
    item = response.json()["item"]
    assert "status" not in item  # the report has no status: `description` is null until it is done
    assert set(item) == {"uuid", "description", "created_at", "detect_uuid", "media_type", "error_message"}
    assert (item["detect_uuid"], item["media_type"], item["error_message"]) == (None, "audio", None)
    assert set(item["description"]) == DESCRIPTION_FIELDS
    description = item["description"]
    assert description["fraud"]["type"] == "none"
    assert description["liveness"]["assessment"] in {"real_person", "not_real_person"}
    assert isinstance(description["digitally_altered"]["detected"], bool)
    assert description["transcription"]
    assert (await jc.get(f"/api/v2/intelligences/{item['uuid']}")).json() == response.json()


async def test_intelligence_async_with_callback(jc: httpx.AsyncClient, peer: Peer) -> None:
    peer.files["p.png"] = png_image()
    response = await jc.post(INTELLIGENCE, json={"url": peer.url("p.png"), "callback_url": peer.hook("intel")})
    assert response.status_code == 202
    item = response.json()["item"]
    assert item["description"] is None
    assert item["media_type"] == "image"
    done = await poll(jc, f"/api/v2/intelligences/{item['uuid']}", lambda b: b["item"]["description"] is not None)
    assert done["item"]["description"]["transcription"] == ""
    await wait_until(lambda: len(peer.received) == 1)
    assert peer.received[0].json() == done


async def test_intelligence_from_detect_id(jc: httpx.AsyncClient, peer: Peer) -> None:
    peer.files["a.wav"] = wav_with_label("fake")
    detect_uuid = (await detect(jc, url=peer.url("a.wav")))["uuid"]
    response = await jc.post(INTELLIGENCE, json={"detect_id": detect_uuid, "media_type": "audio"})
    item = response.json()["item"]
    assert item["detect_uuid"] == detect_uuid
    assert item["description"]["liveness"]["assessment"] == "not_real_person"
    assert item["description"]["digitally_altered"]["detected"] is True
    listed = (await jc.get("/api/v2/intelligences", params={"page": 1})).json()
    assert [entry["uuid"] for entry in listed["items"]] == [item["uuid"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "url"),
        ({"url": f"{PEER}/a.wav", "media_token": "x"}, "media_token"),
        ({"detect_id": "nope"}, "detect_id"),
        ({"media_token": "forged"}, "media_token"),
        ({"url": f"{PEER}/a.wav", "media_type": "text"}, "media_type"),
    ],
)
async def test_intelligence_validation(jc: httpx.AsyncClient, body: dict[str, Any], field: str) -> None:
    response = await jc.post(INTELLIGENCE, json=body)
    assert response.status_code == 400
    assert field in response.json()["errors"]


async def test_intelligence_unfetchable_url(jc: httpx.AsyncClient) -> None:
    item = (await jc.post(INTELLIGENCE, json={"url": f"{PEER}/files/gone.mp3"})).json()["item"]
    assert item["description"] is None
    assert "HTTP 404" in item["error_message"]
    assert item["media_type"] == "audio"


def test_fake_score_is_deterministic() -> None:
    assert fake_score(b"abc") == fake_score(b"abc")
    scores = {fake_score(wav_bytes(d / 10)) for d in range(5, 25)}
    assert any(s >= 0.5 for s in scores)
    assert any(s < 0.5 for s in scores)
    assert all(0 <= s < 1 and not math.isnan(s) for s in scores)
