from __future__ import annotations

import pytest

from voicegate.ratelimit import DEFAULT_CAPS, Capability, build_limiter, resolve_caps

from .conftest import make_settings


def test_one_default_cap_per_capability() -> None:
    assert set(DEFAULT_CAPS) == set(Capability)
    caps = resolve_caps({})
    assert set(caps) == set(Capability)
    assert (caps[Capability.TTS].amount, caps[Capability.TTS].get_expiry()) == (60, 60)
    assert caps[Capability.VOICE_DESIGN].amount == 10
    assert caps[Capability.UPLOADS].amount == 30
    assert all(caps[c].amount == 120 for c in (Capability.VOICES, Capability.PROJECTS, Capability.AGENTS))


def test_overrides_replace_only_their_capability() -> None:
    caps = resolve_caps({"tts": "5/minute", "stt": "2 per 10 seconds"})
    assert (caps[Capability.TTS].amount, caps[Capability.TTS].get_expiry()) == (5, 60)
    assert (caps[Capability.STT].amount, caps[Capability.STT].get_expiry()) == (2, 10)
    assert caps[Capability.UPLOADS] == resolve_caps({})[Capability.UPLOADS]


def test_unknown_capability_is_rejected_by_name() -> None:
    with pytest.raises(ValueError, match="'speech'"):
        resolve_caps({"tts": "5/minute", "speech": "5/minute"})


@pytest.mark.parametrize("notation", ["lots", "5/fortnight", "", "minute/5", "0/minute", "1/second;5/minute"])
def test_bad_notation_is_rejected_naming_the_key(notation: str) -> None:
    with pytest.raises(ValueError, match="'voice_design'"):
        resolve_caps({"voice_design": notation})


def test_factory_fails_fast_on_bad_settings() -> None:
    with pytest.raises(ValueError, match="'tts'"):
        build_limiter(make_settings(None, {"tts": "often"}))
    with pytest.raises(ValueError, match="REDIS_URL"):
        build_limiter(make_settings("http://127.0.0.1:6379"))
    with pytest.raises(ValueError, match="REDIS_URL") as caught:
        build_limiter(make_settings("user:s3cret@127.0.0.1:6379"))
    assert "s3cret" not in str(caught.value)
