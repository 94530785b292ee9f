from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from voicegate.storage.retention import (
    RETENTION_TABLE,
    SOFT_DELETE_WINDOW,
    AssetClass,
    RetentionRule,
    deleted_key,
    expires_at,
    is_permanent,
    is_permanent_key,
    original_key,
    rule_for,
)

NOW = datetime(2026, 4, 27, 12, 30, 0, tzinfo=UTC)

# (asset class, prefix, TTL in days or None for permanent), exactly as the Q3 retention table.
TABLE = [
    ("tts_output", "tts-output/", 7),
    ("stt_input", "stt-input/", 30),
    ("stt_output", "stt-output/", 30),
    ("audio_jobs", "audio-jobs/", 7),
    ("watermark", "watermark/", 7),
    ("voice_recordings", "voice-recordings/", None),
    ("voice_models", "voice-models/", None),
    ("voice_design", "voice-design/", 14),
    ("images", "images/", 30),
    ("videos", "videos/", 14),
    ("chat_images", "chat-images/", 90),
    ("uploads", "uploads/", 30),
]


def test_table_covers_every_asset_class_once() -> None:
    assert len(RETENTION_TABLE) == 12
    assert set(RETENTION_TABLE) == set(AssetClass)
    assert {name for name, _, _ in TABLE} == {member.value for member in AssetClass}
    prefixes = [rule.prefix for rule in RETENTION_TABLE.values()]
    assert len(set(prefixes)) == len(prefixes)


@pytest.mark.parametrize(("name", "prefix", "days"), TABLE)
def test_rule(name: str, prefix: str, days: int | None) -> None:
    rule = rule_for(AssetClass(name))
    assert isinstance(rule, RetentionRule)
    assert rule.asset_class == name
    assert rule.prefix == prefix
    assert rule.ttl == (None if days is None else timedelta(days=days))
    assert rule.permanent is (days is None)
    assert rule.rationale


@pytest.mark.parametrize(("name", "prefix", "days"), TABLE)
def test_expires_at(name: str, prefix: str, days: int | None) -> None:
    expected = None if days is None else NOW + timedelta(days=days)
    assert expires_at(AssetClass(name), NOW) == expected


def test_expires_at_is_utc_and_needs_an_aware_datetime() -> None:
    local_now = NOW.astimezone(timezone(timedelta(hours=5)))
    result = expires_at(AssetClass.TTS_OUTPUT, local_now)
    assert result == NOW + timedelta(days=7)
    assert result is not None
    assert result.utcoffset() == timedelta(0)
    with pytest.raises(ValueError, match="timezone-aware"):
        expires_at(AssetClass.TTS_OUTPUT, NOW.replace(tzinfo=None))


def test_rules_are_immutable() -> None:
    rule = rule_for(AssetClass.UPLOADS)
    with pytest.raises(AttributeError):
        rule.ttl = None  # type: ignore[misc]
    with pytest.raises(TypeError):
        RETENTION_TABLE[AssetClass.UPLOADS] = rule  # type: ignore[index]


def test_the_soft_delete_window_is_seven_days_under_deleted() -> None:
    assert timedelta(days=7) == SOFT_DELETE_WINDOW
    key = "uploads/u1/2026/04/27/123000-r1.wav"
    assert deleted_key(key) == f"_deleted/{key}"
    assert original_key(deleted_key(key)) == key
    assert original_key(key) == key


@pytest.mark.parametrize(("name", "prefix", "days"), TABLE)
def test_permanence_by_class_and_by_key(name: str, prefix: str, days: int | None) -> None:
    assert is_permanent(name) is (days is None)
    assert is_permanent_key(f"{prefix}u1/2026/04/27/123000-r1.wav") is (days is None)


def test_an_unknown_class_counts_as_permanent() -> None:
    assert is_permanent("not_a_class") is True
