"""Every method of the SDK's `voices`, `recordings` and `voice_design` groups against real servers, and the
Business-plan switch as an operator flips it at run time."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from indoxhub import Client
from indoxhub.exceptions import APIError, ResembleBusinessPlanError, ValidationError

from tests.e2e.conftest import ADMIN_KEY, Stack
from tests.resemble.jobs.helpers import WAV_2S

pytestmark = pytest.mark.e2e

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
CONSENT = "I, the speaker, agree to have my voice cloned for this account."


def set_gate(stack: Stack, active: bool) -> None:
    response = httpx.put(f"{stack.gateway}/api/v1/admin/settings", json={"business_plan_active": active}, headers=ADMIN)
    assert response.status_code == 200, response.text


@pytest.fixture
def business(stack: Stack) -> Iterator[None]:
    """Resemble's account on the Business plan and the gateway's gate open; both back to Flex/closed after."""
    httpx.put(f"{stack.simulator}/_sim/plan", json={"plan": "business"}).raise_for_status()
    set_gate(stack, True)
    yield
    set_gate(stack, False)
    httpx.put(f"{stack.simulator}/_sim/plan", json={"plan": "flex"}).raise_for_status()


def upload_recording(client: Client, tmp_path: Path) -> str:
    take = tmp_path / "take.wav"
    take.write_bytes(WAV_2S)
    return str(client.resemble.uploads.create(str(take), purpose="voice_clone")["url"])


def wait_built(client: Client, voice: str, timeout_s: float = 20) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        item = client.resemble.voices._request("GET", f"/{voice}")["item"]
        if item["subscription"]["build_status"] in ("built", "failed"):
            return dict(item)
        assert time.monotonic() < deadline, item
        time.sleep(0.2)


def gated_calls(client: Client, voice: str, design: str) -> dict[str, Callable[[], Any]]:
    """The SDK's five Business-plan methods, one per gated route, aimed at `voice` and `design`."""
    sdk = client.resemble
    return {
        "voices.create": lambda: sdk.voices.create("Ada", consent_text=CONSENT),
        "voices.build": lambda: sdk.voices.build(voice),
        "voices.delete": lambda: sdk.voices.delete(voice),
        "voice_design.generate_candidates": lambda: sdk.voice_design.generate_candidates("A calm voice"),
        "voice_design.promote": lambda: sdk.voice_design.promote(design, candidate_index=0, name="Calm"),
    }


def assert_closed(stack: Stack, client: Client, voice: str, design: str) -> None:
    """Each gated SDK call raises `ResembleBusinessPlanError`, and none of them reaches Resemble (each would be a
    POST or DELETE there; the gateway's own background polling only reads)."""
    before = httpx.get(f"{stack.simulator}/_sim/requests").json()
    for call in gated_calls(client, voice, design).values():
        with pytest.raises(ResembleBusinessPlanError, match="Business-plan"):
            call()
    sent = [r for r in httpx.get(f"{stack.simulator}/_sim/requests").json() if r not in before]
    assert [(r["method"], r["path"]) for r in sent if r["method"] != "GET"] == []


def test_the_gate_closes_opens_and_closes_again_for_the_same_sdk_calls(stack: Stack, tmp_path: Path):
    httpx.put(f"{stack.simulator}/_sim/plan", json={"plan": "business"}).raise_for_status()
    user = stack.new_user(credits="20.00")
    client = Client(api_key=user["api_key"], base_url=stack.gateway)
    sdk = client.resemble
    try:
        assert_closed(stack, client, voice="0000aaaa", design="0000bbbb")
        assert Decimal(stack.balance(user["api_key"])) == Decimal("20.00")

        set_gate(stack, True)  # the same five calls now go through
        voice = sdk.voices.create("Ada", consent_text=CONSENT)["item"]["uuid"]
        url = upload_recording(client, tmp_path)
        sdk.recordings.create(voice, {"url": url, "name": "take-1", "text": "The quick brown fox."})
        built = sdk.voices.build(voice)
        design = sdk.voice_design.generate_candidates("A calm voice")
        promoted = sdk.voice_design.promote(design["design_uuid"], candidate_index=0, name="Calm")
        assert sdk.voices.delete(promoted["voice_uuid"])["uuid"] == promoted["voice_uuid"]
        charged = [Decimal(answer["billing"]["charged"]) for answer in (built, design, promoted)]
        assert Decimal(stack.balance(user["api_key"])) == Decimal("20.00") - sum(charged)

        set_gate(stack, False)  # closed again, even for the caller's own voice and design
        assert_closed(stack, client, voice=voice, design=design["design_uuid"])
        assert Decimal(stack.balance(user["api_key"])) == Decimal("20.00") - sum(charged)
        assert voice in [item["uuid"] for item in sdk.tts.list_voices(page=1, page_size=100)["items"]]
    finally:
        set_gate(stack, False)
        httpx.put(f"{stack.simulator}/_sim/plan", json={"plan": "flex"}).raise_for_status()


def test_voices_and_recordings(stack: Stack, business: None, tmp_path: Path):
    user = stack.new_user(credits="20.00")
    client = Client(api_key=user["api_key"], base_url=stack.gateway)
    voices, recordings = client.resemble.voices, client.resemble.recordings

    with pytest.raises(ValidationError):
        voices.create("No consent")
    voice = voices.create("Ada", consent_text=CONSENT, description="Narrator")["item"]
    uuid = voice["uuid"]

    url = upload_recording(client, tmp_path)
    made = recordings.create(uuid, {"url": url, "name": "take-1", "text": "The quick brown fox.", "emotion": "neutral"})
    rec = made["item"]["uuid"]
    assert made["stored_audio"]["audio_url"]
    assert recordings.get(uuid, rec)["item"]["name"] == "take-1"
    assert recordings.update(uuid, rec, {"text": "The quick brown fox jumps."})["item"]["text"] == (
        "The quick brown fox jumps."
    )
    listed = recordings.list(uuid, page=1, page_size=10)
    assert [item["uuid"] for item in listed["items"]] == [rec]

    built = voices.build(uuid, recording_ids=[rec])
    assert Decimal(built["billing"]["charged"]) == Decimal("2.40")
    assert Decimal(stack.balance(user["api_key"])) == Decimal("17.60")
    assert wait_built(client, uuid)["subscription"]["build_status"] == "built"

    # The built voice speaks for its owner and appears in their catalogue.
    spoken = client.resemble.tts.synthesize(voice_uuid=uuid, text="Hello from my own voice.")
    assert spoken["audio_duration"] > 0
    assert uuid in [item["uuid"] for item in client.resemble.tts.list_voices(page=1, page_size=100)["items"]]

    # Another user sees none of it.
    stranger = Client(api_key=stack.new_user()["api_key"], base_url=stack.gateway)
    assert uuid not in [item["uuid"] for item in stranger.resemble.tts.list_voices(page=1, page_size=100)["items"]]
    for attempt in (
        lambda: stranger.resemble.tts.synthesize(voice_uuid=uuid, text="Borrowed"),
        lambda: stranger.resemble.recordings.list(uuid),
        lambda: stranger.resemble.voices.build(uuid),
        lambda: stranger.resemble.voices.delete(uuid),
    ):
        with pytest.raises(APIError):
            attempt()

    assert recordings.delete(uuid, rec)["uuid"] == rec
    assert voices.delete(uuid)["uuid"] == uuid
    with pytest.raises(APIError):
        recordings.list(uuid)


def test_voice_design(stack: Stack, business: None):
    user = stack.new_user(credits="10.00")
    client = Client(api_key=user["api_key"], base_url=stack.gateway)
    design = client.resemble.voice_design.generate_candidates("A warm, slow storyteller", params={})
    assert len(design["candidates"]) == 3
    sample = httpx.get(design["candidates"][0]["audio_url"])
    assert sample.status_code == 200
    assert sample.content[:4] == b"RIFF"

    promoted = client.resemble.voice_design.promote(design["design_uuid"], candidate_index=2, name="Storyteller")
    assert promoted["subscription"]["voice_type"] == "rapid"
    spent = Decimal(design["billing"]["charged"]) + Decimal(promoted["billing"]["charged"])
    assert Decimal(stack.balance(user["api_key"])) == Decimal("10.00") - spent

    stranger = Client(api_key=stack.new_user()["api_key"], base_url=stack.gateway)
    with pytest.raises(APIError):
        stranger.resemble.voice_design.promote(design["design_uuid"], candidate_index=0, name="Mine")
