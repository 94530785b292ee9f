"""Audio enhancement (flat bodies, 202) and audio edit (no status field)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from voicegate.simulator import SEEDED_VOICES

from .conftest import VOICE_UUID, Peer, parse_wav, poll, read_pcm_wav, wav_bytes

ENHANCE = "/api/v2/audio_enhancements"
EDIT = "/api/v2/edit"
EDIT_FIELDS = {"original_transcript": "hello there", "target_transcript": "hello world", "voice_uuid": VOICE_UUID}


async def download(client: httpx.AsyncClient, url: str) -> bytes:
    response = await client.get(url, headers={"Authorization": ""})  # signed URL: no API key needed
    assert response.status_code == 200
    assert response.headers["content-type"] == "audio/wav"
    return response.content


# enhancement


async def test_enhancement_create_is_202_and_flat(jc: httpx.AsyncClient) -> None:
    response = await jc.post(ENHANCE, files={"audio_file": ("a.wav", wav_bytes(1.0))})
    assert response.status_code == 202
    body = response.json()
    assert set(body) == {"success", "uuid", "status"}
    assert body["success"] is True
    assert body["status"] == "pending"


@pytest.mark.parametrize(("precision", "rate"), [("PCM_16", 16000), ("PCM_24", 44100), ("MULAW", 8000)])
async def test_enhancement_output_is_a_wav_of_the_input_duration(
    jc: httpx.AsyncClient, precision: Any, rate: int
) -> None:
    blob = wav_bytes(2.5, rate=rate, precision=precision)
    created = await jc.post(ENHANCE, files={"audio_file": ("a.wav", blob)}, data={"remove_noise": "false"})
    uuid = created.json()["uuid"]
    first = (await jc.get(f"{ENHANCE}/{uuid}")).json()
    assert set(first) == {"success", "uuid", "status", "enhanced_audio_url", "error_message"}
    assert first["status"] in {"pending", "processing"}
    assert first["enhanced_audio_url"] is None
    body = await poll(jc, f"{ENHANCE}/{uuid}", lambda b: b["status"] == "completed")
    assert body["error_message"] is None
    with read_pcm_wav(await download(jc, body["enhanced_audio_url"])) as wav:
        assert wav.getframerate() == rate
        assert wav.getnframes() / rate == pytest.approx(2.5, abs=1e-3)

    listed = (await jc.get(ENHANCE, params={"page": 1})).json()
    assert {k: listed[k] for k in ("page", "num_pages", "page_size", "total_count")} == {
        "page": 1,
        "num_pages": 1,
        "page_size": 10,
        "total_count": 1,
    }
    item = listed["items"][0]
    assert (item["remove_noise"], item["normalize"], item["studio_sound"]) == (False, True, True)
    assert await download(jc, item["original_audio_url"]) == blob


async def test_enhancement_validation(jc: httpx.AsyncClient) -> None:
    missing = await jc.post(ENHANCE, data={"normalize": "true"})
    assert missing.status_code == 400
    assert missing.json()["success"] is False
    assert isinstance(missing.json()["message"], str)
    assert "audio_file" in missing.json()["errors"]
    bad_flag = await jc.post(ENHANCE, files={"audio_file": ("a.wav", wav_bytes(0.5))}, data={"normalize": "maybe"})
    assert "normalize" in bad_flag.json()["errors"]
    assert (await jc.get(f"{ENHANCE}/unknown")).status_code == 404


async def test_enhancement_of_unreadable_audio_fails(jc: httpx.AsyncClient) -> None:
    uuid = (await jc.post(ENHANCE, files={"audio_file": ("a.wav", b"RIFF....WAVEjunk")})).json()["uuid"]
    body = await poll(jc, f"{ENHANCE}/{uuid}", lambda b: b["status"] != "pending" and b["status"] != "processing")
    assert body["status"] == "failed"
    assert body["enhanced_audio_url"] is None
    assert "wav" in body["error_message"]


# edit


def edit_done(body: dict[str, Any]) -> bool:
    return bool(body["item"]["result_audio_url"] or body["item"]["error"])


async def test_edit_multipart(jc: httpx.AsyncClient) -> None:
    blob = wav_bytes(3.0, rate=22050)
    response = await jc.post(EDIT, files={"input_audio": ("in.wav", blob, "audio/wav")}, data=EDIT_FIELDS)
    assert response.status_code == 200
    item = response.json()["item"]
    assert set(item) == {
        "uuid",
        "voice_uuid",
        "original_transcript",
        "target_transcript",
        "input_audio_url",
        "result_audio_url",
        "error",
    }  # no status field
    assert (item["result_audio_url"], item["error"]) == (None, None)
    assert {k: item[k] for k in EDIT_FIELDS} == EDIT_FIELDS
    assert await download(jc, item["input_audio_url"]) == blob

    done = (await poll(jc, f"{EDIT}/{item['uuid']}", edit_done))["item"]
    assert done["error"] is None
    with read_pcm_wav(await download(jc, done["result_audio_url"])) as wav:
        assert wav.getnframes() / wav.getframerate() == pytest.approx(3.0, abs=1e-3)


async def test_edit_json_with_url_is_fetched(jc: httpx.AsyncClient, peer: Peer) -> None:
    peer.files["in.wav"] = wav_bytes(1.5, precision="MULAW", rate=8000)
    response = await jc.post(EDIT, json={"input_audio": peer.url("in.wav"), **EDIT_FIELDS})
    item = response.json()["item"]
    assert item["input_audio_url"] == peer.url("in.wav")
    done = (await poll(jc, f"{EDIT}/{item['uuid']}", edit_done))["item"]
    info = parse_wav(await download(jc, done["result_audio_url"]))
    assert info.duration == pytest.approx(1.5, abs=1e-3)


async def test_edit_voices_sound_different(jc: httpx.AsyncClient) -> None:
    results = []
    for voice in (SEEDED_VOICES[0]["uuid"], SEEDED_VOICES[1]["uuid"]):
        fields = {**EDIT_FIELDS, "voice_uuid": voice}
        item = (await jc.post(EDIT, files={"input_audio": ("a.wav", wav_bytes(1.0))}, data=fields)).json()["item"]
        done = (await poll(jc, f"{EDIT}/{item['uuid']}", edit_done))["item"]
        results.append(await download(jc, done["result_audio_url"]))
    assert results[0] != results[1]
    assert len(results[0]) == len(results[1])


@pytest.mark.parametrize("missing", ["input_audio", "original_transcript", "target_transcript", "voice_uuid"])
async def test_edit_required_fields(jc: httpx.AsyncClient, missing: str) -> None:
    fields = {k: v for k, v in EDIT_FIELDS.items() if k != missing}
    files = {} if missing == "input_audio" else {"input_audio": ("a.wav", wav_bytes(0.5))}
    response = await jc.post(EDIT, files=files, data=fields) if files else await jc.post(EDIT, json=fields)
    assert response.status_code == 400
    assert response.json()["success"] is False
    assert missing in response.json()["errors"]


async def test_edit_unknown_voice_and_too_long_input(jc: httpx.AsyncClient) -> None:
    files = {"input_audio": ("a.wav", wav_bytes(0.5))}
    unknown = await jc.post(EDIT, files=files, data={**EDIT_FIELDS, "voice_uuid": "deadbeef"})
    assert unknown.status_code == 400
    assert "voice_uuid" in unknown.json()["errors"]

    long = await jc.post(EDIT, files={"input_audio": ("a.wav", wav_bytes(25.0, rate=8000))}, data=EDIT_FIELDS)
    done = (await poll(jc, f"{EDIT}/{long.json()['item']['uuid']}", edit_done))["item"]
    assert done["result_audio_url"] is None
    assert "20 seconds" in done["error"]


async def test_edit_list_sends_both_envelopes(jc: httpx.AsyncClient) -> None:
    await jc.post(EDIT, files={"input_audio": ("a.wav", wav_bytes(0.5))}, data=EDIT_FIELDS)
    body = (await jc.get(EDIT, params={"page": 1})).json()
    assert body["success"] is True
    assert (body["page"], body["num_pages"], body["page_size"], body["total_count"]) == (1, 1, 10, 1)
    assert (body["total_results"], body["page_count"]) == (1, 1)
    assert len(body["items"]) == 1
    assert (await jc.get(f"{EDIT}/nope")).status_code == 404
