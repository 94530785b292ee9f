"""The unchanged `openai` SDK against the gateway's `/v1` routes and the simulator as real servers:
`audio.transcriptions.create` (json, text, srt), `models.list`, and its exception types."""

from __future__ import annotations

import re
from decimal import Decimal

import openai
import pytest

from tests.e2e.conftest import Stack
from tests.resemble.jobs.helpers import make_wav

pytestmark = pytest.mark.e2e
WAV = make_wav(2.0)


def sdk(stack: Stack, api_key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{stack.gateway}/v1", api_key=api_key, max_retries=0)


def test_transcriptions_and_models(stack: Stack):
    user = stack.new_user(credits="5.00")
    client = sdk(stack, user["api_key"])

    as_json = client.audio.transcriptions.create(model="whisper-1", file=("a.wav", WAV, "audio/wav"))
    assert as_json.text.startswith("the quick brown fox")
    as_text = client.audio.transcriptions.create(
        model="resemble/speech-to-text", file=("a.wav", WAV, "audio/wav"), response_format="text"
    )
    assert as_text == as_json.text
    srt = client.audio.transcriptions.create(
        model="gpt-4o-transcribe", file=("a.wav", WAV, "audio/wav"), response_format="srt"
    )
    cues = re.findall(r"(\d\d:\d\d:\d\d,\d\d\d) --> (\d\d:\d\d:\d\d,\d\d\d)", srt)
    assert cues
    assert cues[0][0] == "00:00:00,000"
    assert cues[-1][1] <= "00:00:02,000"

    raw = client.audio.transcriptions.with_raw_response.create(model="whisper-1", file=("a.wav", WAV, "audio/wav"))
    assert Decimal(raw.headers["x-billing-charged"]) > 0

    models = client.models.list()
    assert [m.id for m in models.data] == [
        "resemble/chatterbox",
        "resemble/chatterbox-turbo",
        "resemble/speech-to-text",
    ]
    assert client.models.retrieve("whisper-1").id == "resemble/speech-to-text"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("dall-e-3")
    with pytest.raises(openai.BadRequestError, match="resemble/speech-to-text"):
        client.audio.transcriptions.create(model="openai/whisper-1", file=("a.wav", WAV, "audio/wav"))


def test_exception_types(stack: Stack):
    with pytest.raises(openai.AuthenticationError):
        sdk(stack, "vg_not_a_key").models.list()

    broke = sdk(stack, stack.new_user(credits="0.00")["api_key"])
    with pytest.raises(openai.APIStatusError) as refused:
        broke.audio.transcriptions.create(model="whisper-1", file=("a.wav", WAV, "audio/wav"))
    assert refused.value.status_code == 402

    limited = sdk(stack, stack.new_user(credits="5.00", tier="paid")["api_key"])  # paid: 2 STT calls a minute
    for _ in range(2):
        limited.audio.transcriptions.create(model="whisper-1", file=("a.wav", WAV, "audio/wav"))
    with pytest.raises(openai.RateLimitError) as limit:
        limited.audio.transcriptions.create(model="whisper-1", file=("a.wav", WAV, "audio/wav"))
    assert int(limit.value.response.headers["retry-after"]) >= 1
