from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from voicegate.simulator.audio import render

from .conftest import JOB_DELAY_S, poll, wav_bytes

STT = "/api/v2/speech-to-text"


async def submit(jc: httpx.AsyncClient, blob: bytes, **fields: str) -> dict[str, Any]:
    response = await jc.post(STT, files={"file": ("clip.wav", blob, "audio/wav")}, data=fields)
    assert response.status_code == 200, response.text
    return response.json()


def settled(body: dict[str, Any]) -> bool:
    return body["item"]["status"] in {"completed", "failed"}


async def test_create_shape(jc: httpx.AsyncClient) -> None:
    body = await submit(jc, wav_bytes(1.0))
    assert body["success"] is True
    assert set(body["item"]) == {"uuid", "status", "privacy_mode", "created_at", "updated_at"}
    assert body["item"]["status"] == "pending"
    assert body["item"]["privacy_mode"] is False


async def test_status_progression_follows_the_job_delay(jc: httpx.AsyncClient, jobs_app: FastAPI) -> None:
    engine = jobs_app.state.simulator.jobs
    now = [0.0]
    engine.clock = lambda: now[0]
    uuid = (await submit(jc, wav_bytes(1.0)))["item"]["uuid"]
    seen = []
    for elapsed in (0.0, JOB_DELAY_S * 0.49, JOB_DELAY_S * 0.5, JOB_DELAY_S * 0.99, JOB_DELAY_S, 100.0):
        now[0] = elapsed
        item = (await jc.get(f"{STT}/{uuid}")).json()["item"]
        seen.append(item["status"])
        if item["status"] != "completed":
            assert item["text"] is None
            assert item["duration_seconds"] is None
    assert seen == ["pending", "pending", "processing", "processing", "completed", "completed"]
    assert item["updated_at"] > item["created_at"]


async def test_completed_transcript(jc: httpx.AsyncClient) -> None:
    blob = wav_bytes(3.2)
    uuid = (await submit(jc, blob, query="Who is speaking?"))["item"]["uuid"]
    body = await poll(jc, f"{STT}/{uuid}", settled)
    item = body["item"]
    assert item["status"] == "completed"
    assert item["duration_seconds"] == pytest.approx(3.2, abs=1e-3)
    assert item["text"] == " ".join(word["text"] for word in item["words"])
    assert len(item["words"]) == 8
    for word in item["words"]:
        assert set(word) == {"text", "start_time", "end_time", "speaker_id"}
        assert 0 <= word["start_time"] < word["end_time"] <= 3.2
    assert [w["start_time"] for w in item["words"]] == sorted(w["start_time"] for w in item["words"])
    assert item["query"] == "Who is speaking?"
    assert isinstance(item["answer"], str)
    assert item["file_deleted_at"] is None
    assert "error_message" not in item

    download = await jc.get(item["file_url"], headers={"Authorization": ""})
    assert download.status_code == 200
    assert download.content == blob


async def test_mp3_input_duration(jc: httpx.AsyncClient) -> None:
    blob = render(4.0, sample_rate=22050, output_format="mp3").data
    uuid = (await submit(jc, blob))["item"]["uuid"]
    item = (await poll(jc, f"{STT}/{uuid}", settled))["item"]
    assert item["duration_seconds"] == pytest.approx(4.0, abs=0.1)


async def test_unreadable_upload_fails_the_job(jc: httpx.AsyncClient) -> None:
    uuid = (await submit(jc, b"definitely not audio"))["item"]["uuid"]
    item = (await poll(jc, f"{STT}/{uuid}", settled))["item"]
    assert item["status"] == "failed"
    assert "Unsupported media" in item["error_message"]
    assert item["text"] is None


async def test_list_pagination(jc: httpx.AsyncClient) -> None:
    uuids = [(await submit(jc, wav_bytes(0.5 + i)))["item"]["uuid"] for i in range(3)]
    first = (await jc.get(STT, params={"page": 1, "per_page": 2})).json()
    assert first["success"] is True
    assert first["meta"] == {"page": 1, "per_page": 2, "total_pages": 2, "total_items": 3}
    assert [item["uuid"] for item in first["items"]] == uuids[::-1][:2]  # newest first
    assert set(first["items"][0]) == {"uuid", "status", "duration_seconds", "created_at", "updated_at"}
    second = (await jc.get(STT, params={"page": 2, "per_page": 2})).json()
    assert [item["uuid"] for item in second["items"]] == [uuids[0]]
    default = (await jc.get(STT, params={"page": 1})).json()
    assert default["meta"]["per_page"] == 25
    assert len(default["items"]) == 3


@pytest.mark.parametrize(
    ("params", "field"), [({}, "page"), ({"page": 0}, "page"), ({"page": 1, "per_page": 51}, "per_page")]
)
async def test_list_bounds(jc: httpx.AsyncClient, params: dict[str, int], field: str) -> None:
    response = await jc.get(STT, params=params)
    assert response.status_code == 400
    assert field in response.json()["errors"]


async def test_validation(jc: httpx.AsyncClient) -> None:
    missing = await jc.post(STT, data={"query": "hi"})
    assert missing.status_code == 400
    assert missing.json()["success"] is False
    assert "file" in missing.json()["errors"]
    as_json = await jc.post(STT, json={"file": "x"})
    assert as_json.status_code == 400
    zero_retention = await jc.post(STT, files={"file": ("a.wav", wav_bytes(0.5))}, data={"zero_retention_mode": "true"})
    assert "callback_url" in zero_retention.json()["errors"]
    bad_url = await jc.post(STT, files={"file": ("a.wav", wav_bytes(0.5))}, data={"callback_url": "ftp://x/y"})
    assert "callback_url" in bad_url.json()["errors"]
    assert (await jc.get(f"{STT}/nope")).status_code == 404
