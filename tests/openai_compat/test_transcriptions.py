"""`POST /v1/audio/transcriptions` in-process: every response format, timestamps that parse, the bounded wait,
and errors in OpenAI's shape."""

from __future__ import annotations

import itertools
import re
from decimal import Decimal

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import Customer, create_customer
from tests.hub.conftest import balance, usage_rows
from tests.resemble.jobs.helpers import make_wav
from voicegate.config import Settings

URL = "/v1/audio/transcriptions"
SECONDS = 4.0
WAV = make_wav(SECONDS)
CUE = re.compile(r"(\d\d):(\d\d):(\d\d)[,.](\d\d\d) --> (\d\d):(\d\d):(\d\d)[,.](\d\d\d)")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"hub_stt_wait_s": 1.0})


def form(**fields: str) -> dict:
    return {"files": {"file": ("speech.wav", WAV, "audio/wav")}, "data": {"model": "whisper-1", **fields}}


def cue_times(document: str) -> list[tuple[float, float]]:
    def seconds(h: str, m: str, s: str, ms: str) -> float:
        return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000

    return [(seconds(*match[:4]), seconds(*match[4:])) for match in CUE.findall(document)]


async def test_json_and_billing_headers(client: httpx.AsyncClient, session: AsyncSession, customer: Customer):
    response = await client.post(URL, **form(), headers=customer.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"text", "usage"}
    assert body["text"]
    assert body["usage"] == {"type": "duration", "seconds": pytest.approx(SECONDS)}
    charged = Decimal(response.headers["X-Billing-Charged"])
    assert charged > 0
    assert response.headers["X-Billing-Unit"] == "audio_seconds"
    assert await balance(session, customer.user.id) == Decimal("10") - charged
    [usage] = await usage_rows(session, customer.user.id)
    assert usage.job_id == response.headers["X-Job-Id"]


async def test_text(client: httpx.AsyncClient, customer: Customer):
    response = await client.post(URL, **form(response_format="text"), headers=customer.headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text.startswith("the quick brown fox")


async def test_verbose_json_words_and_segments(client: httpx.AsyncClient, customer: Customer):
    fields = {"response_format": "verbose_json", "timestamp_granularities[]": ["word", "segment"]}
    response = await client.post(
        URL,
        files={"file": ("a.wav", WAV, "audio/wav")},
        data={"model": "gpt-4o-transcribe", **fields},
        headers=customer.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["task"] == "transcribe"
    assert body["duration"] == pytest.approx(SECONDS)
    words, segments = body["words"], body["segments"]
    assert " ".join(w["word"] for w in words) == body["text"]
    assert all(a["end"] <= b["start"] for a, b in itertools.pairwise(words))
    assert " ".join(s["text"] for s in segments) == body["text"]
    assert [s["id"] for s in segments] == list(range(len(segments)))
    assert segments[0]["start"] == words[0]["start"]
    assert segments[-1]["end"] == words[-1]["end"]

    segments_only = await client.post(URL, **form(response_format="verbose_json"), headers=customer.headers)
    assert "words" not in segments_only.json()
    assert segments_only.json()["segments"] == segments


@pytest.mark.parametrize("fmt", ["srt", "vtt"])
async def test_subtitles_carry_the_word_timings(client: httpx.AsyncClient, customer: Customer, fmt: str):
    verbose = await client.post(URL, **form(response_format="verbose_json"), headers=customer.headers)
    segments = verbose.json()["segments"]
    response = await client.post(URL, **form(response_format=fmt), headers=customer.headers)
    assert response.status_code == 200, response.text
    document = response.text
    if fmt == "vtt":
        assert response.headers["content-type"].startswith("text/vtt")
        assert document.startswith("WEBVTT\n\n")
        assert "," not in CUE.search(document).group(0)  # type: ignore[union-attr]
    else:
        assert document.startswith("1\n")
        assert "." not in CUE.search(document).group(0)  # type: ignore[union-attr]
    times = cue_times(document)
    assert times == [(pytest.approx(s["start"], abs=0.001), pytest.approx(s["end"], abs=0.001)) for s in segments]
    assert all(start < end <= SECONDS for start, end in times)
    texts = [block.strip().split("\n")[-1] for block in document.removeprefix("WEBVTT\n").strip().split("\n\n")]
    assert texts == [s["text"] for s in segments]


async def test_timeout_is_504_in_openai_shape_with_the_job(
    client: httpx.AsyncClient, simulator: httpx.AsyncClient, customer: Customer
):
    await simulator.post("/_sim/faults", json={"path": "speech-to-text", "mode": "job_hang"})
    response = await client.post(URL, **form(), headers=customer.headers)
    assert response.status_code == 504
    error = response.json()["error"]
    assert error["type"] == "api_error"
    assert error["code"] == "transcription_timeout"
    job_id = re.search(r"job (\w+)", error["message"]).group(1)  # type: ignore[union-attr]
    assert f"GET /api/v1/resemble/stt/{job_id}" in error["message"]
    native = await client.get(f"/api/v1/resemble/stt/{job_id}", headers=customer.headers)
    assert native.status_code == 200


async def test_errors_in_openai_shape(client: httpx.AsyncClient, simulator: httpx.AsyncClient, session: AsyncSession):
    customer = await create_customer(session, credits="10.00")
    cases = [
        ({}, 401, "authentication_error"),
        (customer.headers, 400, "invalid_request_error"),
    ]
    for headers, status, kind in cases:
        data = {"model": "openai/whisper-1"} if status == 400 else {"model": "whisper-1"}
        response = await client.post(URL, files={"file": ("a.wav", WAV)}, data=data, headers=headers)
        assert response.status_code == status, response.text
        assert response.json()["error"]["type"] == kind
    missing = await client.post(URL, data={"model": "whisper-1"}, headers=customer.headers)
    assert missing.status_code == 422
    assert missing.json()["error"]["param"] == "file"
    bad_format = await client.post(URL, **form(response_format="docx"), headers=customer.headers)
    assert bad_format.status_code == 422
    assert bad_format.json()["error"]["param"] == "response_format"
    poor = await create_customer(session, credits="0.00")
    broke = await client.post(URL, **form(), headers=poor.headers)
    assert broke.status_code == 402
    assert broke.json()["error"]["code"] == "insufficient_quota"
    assert [r for r in (await simulator.get("/_sim/requests")).json() if "speech-to-text" in r["path"]] == []
