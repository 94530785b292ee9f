"""`POST /stream`: a plain 44-byte PCM WAV header, then the samples in 100 ms chunks, with auth and faults like
every other route, and progress reported under `/_sim/streams`."""

from __future__ import annotations

import io
import wave

import httpx
import pytest

from .conftest import AUTH, VOICE_UUID

TEXT = "Hello from the streaming simulator!"  # 35 characters: 2.1 s at 0.06 s a character


async def stream(client: httpx.AsyncClient, **fields: object) -> httpx.Response:
    return await client.post("/stream", json={"voice_uuid": VOICE_UUID, "data": TEXT, **fields}, headers=AUTH)


async def test_a_pcm16_wav_with_a_plain_44_byte_header(client: httpx.AsyncClient):
    response = await stream(client, sample_rate=22050, output_format="mp3", title="ignored")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.content[36:40] == b"data"  # the SDK drops exactly 44 bytes as the header
    with wave.open(io.BytesIO(response.content)) as decoded:
        assert (decoded.getframerate(), decoded.getsampwidth(), decoded.getnchannels()) == (22050, 2, 1)
        assert decoded.getnframes() / decoded.getframerate() == pytest.approx(2.1, abs=0.01)
        assert decoded.getnframes() * 2 == len(response.content) - 44

    progress = (await client.get("/_sim/streams")).json()[-1]
    assert progress["finished"]
    assert not progress["disconnected"]
    assert progress["chunks_sent"] == progress["total_chunks"] == 21
    assert progress["bytes_sent"] == len(response.content)


async def test_needs_the_key(client: httpx.AsyncClient):
    response = await client.post("/stream", json={"voice_uuid": VOICE_UUID, "data": TEXT})
    assert response.status_code == 401


@pytest.mark.parametrize(
    "fields",
    [{"data": "x" * 2001}, {"voice_uuid": "nosuchvoice"}, {"precision": "MULAW"}, {"sample_rate": 12345}],
)
async def test_bad_input_is_400(client: httpx.AsyncClient, fields: dict[str, object]):
    response = await stream(client, **fields)
    assert response.status_code == 400


async def test_faults_apply(client: httpx.AsyncClient):
    await client.post("/_sim/faults", json={"path": "/stream", "status": 503, "count": 1})
    assert (await stream(client)).status_code == 503
    assert (await stream(client)).status_code == 200
