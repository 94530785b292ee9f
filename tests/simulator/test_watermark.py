from __future__ import annotations

from typing import Any

import httpx
import pytest

from voicegate.simulator.media import png_image, probe

from . import media_samples
from .conftest import PEER, Peer, poll, read_pcm_wav, wav_bytes

APPLY = "/api/v2/watermark/apply"
DETECT = "/api/v2/watermark/detect"
ITEM_FIELDS = {
    "uuid",
    "media_type",
    "operation_type",
    "status",
    "model_version",
    "source_media_url",
    "watermarked_media",
    "metrics",
    "created_at",
    "updated_at",
}
WAIT = {"Prefer": "wait"}


def settled(body: dict[str, Any]) -> bool:
    return body["item"]["status"] in {"completed", "failed"}


async def apply(jc: httpx.AsyncClient, peer: Peer, name: str, blob: bytes, **fields: Any) -> dict[str, Any]:
    peer.files[name] = blob
    response = await jc.post(APPLY, json={"url": peer.url(name), **fields}, headers=WAIT)
    assert response.status_code == 200, response.text
    item = response.json()["item"]
    assert item["status"] == "completed"
    return item


async def detect(jc: httpx.AsyncClient, peer: Peer, name: str, blob: bytes, **fields: Any) -> dict[str, Any]:
    peer.files[name] = blob
    response = await jc.post(DETECT, json={"url": peer.url(name), **fields}, headers=WAIT)
    assert response.status_code == 200, response.text
    return response.json()["item"]


async def download(jc: httpx.AsyncClient, url: str) -> bytes:
    response = await jc.get(url, headers={"Authorization": ""})
    assert response.status_code == 200
    return response.content


async def test_apply_audio_async(jc: httpx.AsyncClient, peer: Peer) -> None:
    peer.files["a.mp3"] = wav_bytes(2.75, rate=22050)
    response = await jc.post(APPLY, json={"url": peer.url("a.mp3")})
    item = response.json()["item"]
    assert set(item) == ITEM_FIELDS
    assert (item["status"], item["media_type"], item["operation_type"]) == ("pending", "audio", "apply")
    assert (item["model_version"], item["source_media_url"]) == ("perth_v2", peer.url("a.mp3"))
    assert item["watermarked_media"] is None
    assert item["metrics"] is None

    done = (await poll(jc, f"{APPLY}/{item['uuid']}/result", settled))["item"]
    assert done["status"] == "completed"
    assert done["metrics"] is None  # audio apply has no metrics
    marked = await download(jc, done["watermarked_media"])
    with read_pcm_wav(marked) as wav:
        assert wav.getframerate() == 22050
        assert wav.getnframes() / 22050 == pytest.approx(2.75, abs=1e-3)


async def test_round_trip_audio(jc: httpx.AsyncClient, peer: Peer) -> None:
    original = wav_bytes(1.0)
    marked = await download(jc, (await apply(jc, peer, "a.wav", original))["watermarked_media"])

    found = await detect(jc, peer, "marked.wav", marked)
    assert (found["status"], found["operation_type"], found["watermarked_media"]) == ("completed", "detect", None)
    assert "model_version" not in found  # audio versions are reported in metrics.model_results
    metrics = found["metrics"]
    assert metrics["overall_status"] == "present"
    assert metrics["detected_model_versions"] == ["perth_v2"]
    assert metrics["has_watermark"] == {"0": True}
    assert metrics["coverage_complete"] is True
    assert metrics["confidence"] > 0.9
    assert [r["model_version"] for r in metrics["model_results"]] == ["perth_v1", "perth_v2"]

    clean = (await detect(jc, peer, "clean.wav", original))["metrics"]
    assert clean["overall_status"] == "absent"
    assert clean["has_watermark"] == {"0": False}
    assert clean["detected_model_versions"] == []


async def test_detect_is_null_metrics_while_processing(jc: httpx.AsyncClient, peer: Peer) -> None:
    peer.files["a.wav"] = wav_bytes(0.5)
    item = (await jc.post(DETECT, json={"url": peer.url("a.wav")})).json()["item"]
    assert item["status"] == "pending"
    assert item["metrics"] is None
    done = (await poll(jc, f"{DETECT}/{item['uuid']}/result", settled))["item"]
    assert done["metrics"]["overall_status"] == "absent"


async def test_image_round_trip(jc: httpx.AsyncClient, peer: Peer) -> None:
    item = await apply(jc, peer, "p.png", png_image(), strength=0.5, custom_message="hello")
    assert item["media_type"] == "image"
    assert item["metrics"] == {"strength": 0.5, "custom_message": "hello", "message_bits_length": 40}
    marked = await download(jc, item["watermarked_media"])
    assert probe(marked).container == "png"

    found = await detect(jc, peer, "m.png", marked, custom_message="hello")
    assert found["model_version"] == "perth_v2"
    assert found["metrics"]["overall_status"] == "present"
    assert found["metrics"]["has_watermark"] is True
    assert found["metrics"]["verdict"] == "verified"
    other = await detect(jc, peer, "m2.png", marked)  # default message: the watermark does not match
    assert other["metrics"]["overall_status"] == "degraded"
    clean = await detect(jc, peer, "c.png", png_image())
    assert (clean["metrics"]["overall_status"], clean["metrics"]["verdict"]) == ("absent", "not_watermarked")


@pytest.mark.parametrize(("output_format", "container"), [("default", "png"), ("source", "jpeg")])
async def test_jpeg_output_format(jc: httpx.AsyncClient, peer: Peer, output_format: str, container: str) -> None:
    item = await apply(jc, peer, "p.jpg", media_samples.JPEG, output_format=output_format)
    assert probe(await download(jc, item["watermarked_media"])).container == container


async def test_video_apply(jc: httpx.AsyncClient, peer: Peer) -> None:
    item = await apply(jc, peer, "v.mp4", media_samples.mp4(3.0))
    assert item["media_type"] == "video"
    marked = await download(jc, item["watermarked_media"])
    assert probe(marked).duration == pytest.approx(3.0)
    assert (await detect(jc, peer, "m.mp4", marked))["metrics"]["overall_status"] == "present"


async def test_unfetchable_source_fails(jc: httpx.AsyncClient) -> None:
    response = await jc.post(APPLY, json={"url": f"{PEER}/files/gone.png"}, headers=WAIT)
    item = response.json()["item"]
    assert item["status"] == "failed"
    assert item["media_type"] == "image"  # guessed from the URL
    assert item["watermarked_media"] is None
    assert "HTTP 404" in item["error_message"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (APPLY, {}, "url"),
        (APPLY, {"url": "nope"}, "url"),
        (APPLY, {"url": f"{PEER}/a.wav", "strength": 2}, "strength"),
        (APPLY, {"url": f"{PEER}/a.wav", "output_format": "flac"}, "output_format"),
        (APPLY, {"url": f"{PEER}/a.wav", "custom_message": "x" * 65}, "custom_message"),
        (DETECT, {}, "url"),
        (DETECT, {"url": 5}, "url"),
    ],
)
async def test_validation(jc: httpx.AsyncClient, path: str, body: dict[str, Any], field: str) -> None:
    response = await jc.post(path, json=body)
    assert response.status_code == 400
    assert field in response.json()["errors"]


async def test_json_only_and_unknown_ids(jc: httpx.AsyncClient) -> None:
    assert (await jc.post(APPLY, data={"url": f"{PEER}/a.wav"})).status_code == 400
    assert (await jc.get(f"{APPLY}/nope/result")).status_code == 404
    assert (await jc.get(f"{DETECT}/nope/result")).status_code == 404
