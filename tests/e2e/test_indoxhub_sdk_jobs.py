"""The unchanged indoxhub SDK driving uploads and every asynchronous capability against real servers."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from indoxhub import Client
from indoxhub.exceptions import APIError

from tests.e2e.conftest import Stack
from tests.resemble.jobs.helpers import make_wav

pytestmark = pytest.mark.e2e

PURPOSES = {
    "voice_clone": ("voice_recordings", None),
    "stt_input": ("stt_input", 30),
    "watermark_input": ("watermark", 7),
    "audio_job_input": ("audio_jobs", 7),
    None: ("uploads", 30),
}


@pytest.fixture
def audio_file(tmp_path: Path) -> Path:
    path = tmp_path / "sample.wav"
    path.write_bytes(make_wav(1.5))
    return path


def _days_from_now(iso: str) -> float:
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return (moment - datetime.now(UTC)) / timedelta(days=1)


@pytest.mark.parametrize("purpose", list(PURPOSES))
def test_upload_with_each_purpose(stack: Stack, audio_file: Path, purpose: str | None):
    client = Client(api_key=stack.new_user()["api_key"], base_url=stack.gateway)
    result = client.resemble.uploads.create(str(audio_file), purpose=purpose)
    asset_class, days = PURPOSES[purpose]
    assert result["asset_class"] == asset_class
    if days is None:
        assert result["expires_at"] is None
    else:
        assert _days_from_now(result["expires_at"]) == pytest.approx(days, abs=0.01)
    assert httpx.get(result["url"]).content == audio_file.read_bytes()


def _poll(get: Any, job_id: str, timeout_s: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        job = get(job_id)
        if job["status"] in ("completed", "failed"):
            return dict(job)
        assert time.monotonic() < deadline, job
        time.sleep(0.3)


def test_every_capability_submit_poll_complete(stack: Stack, audio_file: Path):
    user = stack.new_user(credits="5.00")
    client = Client(api_key=user["api_key"], base_url=stack.gateway)
    r = client.resemble
    url = r.uploads.create(str(audio_file), purpose="audio_job_input")["url"]
    flows = {
        "stt": (lambda: r.stt.create(audio_url=url), r.stt.get),
        "enhance": (lambda: r.audio_jobs.enhance(audio_url=url), r.audio_jobs.get_enhance),
        "edit": (
            lambda: r.audio_jobs.edit(
                audio_url=url, original_transcript="one two", target_transcript="one three", voice_uuid="55592656"
            ),
            r.audio_jobs.get_edit,
        ),
        "detect": (lambda: r.safety.detect(audio_url=url), r.safety.get_detect),
        "intelligence": (lambda: r.safety.intelligence(audio_url=url), r.safety.get_intelligence),
        "tracing": (lambda: r.safety.tracing(audio_url=url), r.safety.get_tracing),
        "watermark_apply": (lambda: r.watermark.apply(audio_url=url), r.watermark.get_apply),
        "watermark_detect": (lambda: r.watermark.detect(audio_url=url), r.watermark.get_detect),
    }
    spent = Decimal(0)
    for name, (create, get) in flows.items():
        job = create()
        done = _poll(get, job["job_id"])
        assert done["status"] == "completed", (name, done)
        billing = done["billing"]
        assert Decimal(billing["charged"]) == (Decimal(billing["provider_cost"]) * Decimal("1.2")).quantize(
            Decimal("0.000001")
        )
        spent += Decimal(billing["charged"])
        if name in ("enhance", "edit", "watermark_apply"):
            assert _days_from_now(done["expires_at"]) == pytest.approx(7, abs=0.01)
            assert httpx.get(done["audio_url"]).status_code == 200
    assert Decimal(stack.balance(user["api_key"])) == Decimal("5") - spent


def test_failed_job_is_free_and_other_users_job_is_404(stack: Stack, audio_file: Path):
    owner = stack.new_user(credits="1.00")
    client = Client(api_key=owner["api_key"], base_url=stack.gateway)
    url = client.resemble.uploads.create(str(audio_file))["url"]
    stack.fault(path="speech-to-text", mode="job_fail", count=1)
    failed = _poll(client.resemble.stt.get, client.resemble.stt.create(audio_url=url)["job_id"])
    assert failed["status"] == "failed"
    assert Decimal(stack.balance(owner["api_key"])) == Decimal("1")

    intruder = Client(api_key=stack.new_user()["api_key"], base_url=stack.gateway)
    with pytest.raises(APIError, match="not found"):
        intruder.resemble.stt.get(failed["job_id"])
