from __future__ import annotations

import pytest
from pydantic import ValidationError

from voicegate.config import Settings
from voicegate.ratelimit import DEFAULT_CAPS, Capability, Tier, build_limiter, resolve_caps

from .conftest import make_settings


def test_one_default_cap_per_tier_and_capability() -> None:
    assert set(DEFAULT_CAPS) == set(Tier)
    assert all(set(caps) == set(Capability) for caps in DEFAULT_CAPS.values())
    caps = resolve_caps({})
    assert set(caps) == set(Tier)
    free = caps[Tier.FREE]
    assert (free[Capability.TTS].amount, free[Capability.TTS].get_expiry()) == (60, 60)
    assert free[Capability.VOICE_DESIGN].amount == 10
    assert free[Capability.UPLOADS].amount == 30
    assert all(free[c].amount == 120 for c in (Capability.VOICES, Capability.PROJECTS, Capability.AGENTS))


def test_paid_allows_more_than_free_on_every_capability() -> None:
    caps = resolve_caps({})
    for capability in Capability:
        free, paid = caps[Tier.FREE][capability], caps[Tier.PAID][capability]
        assert free.get_expiry() == paid.get_expiry()
        assert paid.amount >= 3 * free.amount, capability
    assert caps[Tier.PAID][Capability.TTS].amount == 300


def test_flat_overrides_replace_their_capability_in_every_tier() -> None:
    caps = resolve_caps({"tts": "5/minute", "stt": "2 per 10 seconds"})
    for tier in Tier:
        assert (caps[tier][Capability.TTS].amount, caps[tier][Capability.TTS].get_expiry()) == (5, 60)
        assert (caps[tier][Capability.STT].amount, caps[tier][Capability.STT].get_expiry()) == (2, 10)
        assert caps[tier][Capability.UPLOADS] == resolve_caps({})[tier][Capability.UPLOADS]


def test_tiered_overrides_replace_only_their_tier() -> None:
    caps = resolve_caps({"free": {"tts": "10/minute"}, "paid": {"tts": "100/minute", "agents": "1/second"}})
    assert caps[Tier.FREE][Capability.TTS].amount == 10
    assert caps[Tier.PAID][Capability.TTS].amount == 100
    assert (caps[Tier.PAID][Capability.AGENTS].amount, caps[Tier.PAID][Capability.AGENTS].get_expiry()) == (1, 1)
    assert caps[Tier.FREE][Capability.AGENTS].amount == 120


def test_a_tiered_entry_wins_over_a_flat_one() -> None:
    caps = resolve_caps({"tts": "5/minute", "paid": {"tts": "50/minute"}})
    assert (caps[Tier.FREE][Capability.TTS].amount, caps[Tier.PAID][Capability.TTS].amount) == (5, 50)


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"tts": "5/minute", "speech": "5/minute"}, "unknown capability 'speech'"),
        ({"gold": {"tts": "5/minute"}}, "unknown tier 'gold'"),
        ({"paid": {"speech": "5/minute"}}, "unknown capability 'speech' in rate limits for tier 'paid'"),
        ({"free": "5/minute"}, "tier 'free' must be an object"),
        ({"free": {"tts": "often"}}, "'free.tts'"),
    ],
)
def test_unknown_names_and_bad_shapes_are_rejected_by_name(overrides: dict, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        resolve_caps(overrides)


@pytest.mark.parametrize("notation", ["lots", "5/fortnight", "", "minute/5", "0/minute", "1/second;5/minute"])
def test_bad_notation_is_rejected_naming_the_key(notation: str) -> None:
    with pytest.raises(ValueError, match="'voice_design'"):
        resolve_caps({"voice_design": notation})


class TestSettings:
    """RESEMBLE_RATE_LIMITS is read from the environment as JSON, in either form, and checked as settings load."""

    def test_flat_form_from_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("RESEMBLE_RATE_LIMITS", '{"tts": "5/minute"}')
        limiter = build_limiter(Settings(_env_file=None))
        assert {limiter.cap(Capability.TTS, tier).amount for tier in Tier} == {5}

    def test_tiered_form_from_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("RESEMBLE_RATE_LIMITS", '{"free": {"tts": "10/minute"}, "paid": {"tts": "90/minute"}}')
        limiter = build_limiter(Settings(_env_file=None))
        assert limiter.cap(Capability.TTS, "free").amount == 10
        assert limiter.cap(Capability.TTS, "paid").amount == 90

    @pytest.mark.parametrize(
        ("value", "named"),
        [
            ('{"gold": {"tts": "1/minute"}}', "unknown tier 'gold'"),
            ('{"paid": {"tts": "often"}}', "'paid.tts'"),
            ('{"speech": "1/minute"}', "unknown capability 'speech'"),
        ],
    )
    def test_a_bad_value_is_a_settings_error_naming_it(
        self, monkeypatch: pytest.MonkeyPatch, value: str, named: str
    ) -> None:
        monkeypatch.setenv("RESEMBLE_RATE_LIMITS", value)
        with pytest.raises(ValidationError, match="resemble_rate_limits") as caught:
            Settings(_env_file=None)
        assert named in str(caught.value)

    def test_an_unknown_stored_tier_gets_the_free_row(self) -> None:
        limiter = build_limiter(make_settings(None))
        assert limiter.cap(Capability.TTS, "standard") == limiter.cap(Capability.TTS, "free")


def test_factory_fails_fast_on_bad_settings() -> None:
    with pytest.raises(ValueError, match="'tts'"):
        build_limiter(make_settings(None, {"tts": "often"}))
    with pytest.raises(ValueError, match="REDIS_URL"):
        build_limiter(make_settings("http://127.0.0.1:6379"))
    with pytest.raises(ValueError, match="REDIS_URL") as caught:
        build_limiter(make_settings("user:s3cret@127.0.0.1:6379"))
    assert "s3cret" not in str(caught.value)
