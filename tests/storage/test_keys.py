from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from voicegate.storage.keys import object_key, parse_key, user_prefixes
from voicegate.storage.retention import AssetClass

NOW = datetime(2026, 4, 7, 9, 5, 3, tzinfo=UTC)

EXPECTED = [
    (AssetClass.TTS_OUTPUT, "tts-output/u_1/2026/04/07/090503-req-1.wav"),
    (AssetClass.STT_INPUT, "stt-input/u_1/2026/04/07/090503-req-1.wav"),
    (AssetClass.STT_OUTPUT, "stt-output/u_1/2026/04/07/090503-req-1.wav"),
    (AssetClass.AUDIO_JOBS, "audio-jobs/u_1/2026/04/07/090503-req-1.wav"),
    (AssetClass.WATERMARK, "watermark/u_1/2026/04/07/090503-req-1.wav"),
    (AssetClass.VOICE_RECORDINGS, "voice-recordings/u_1/2026/04/07/090503-req-1.wav"),
    (AssetClass.VOICE_MODELS, "voice-models/u_1/2026/04/07/090503-req-1.wav"),
    (AssetClass.VOICE_DESIGN, "voice-design/u_1/2026/04/07/090503-req-1.wav"),
    (AssetClass.IMAGES, "images/u_1/2026/04/07/090503-req-1.wav"),
    (AssetClass.VIDEOS, "videos/u_1/2026/04/07/090503-req-1.wav"),
    (AssetClass.CHAT_IMAGES, "chat-images/u_1/2026/04/07/090503-req-1.wav"),
    (AssetClass.UPLOADS, "uploads/u_1/2026/04/07/090503-req-1.wav"),
]


@pytest.mark.parametrize(("asset_class", "expected"), EXPECTED)
def test_object_key_format(asset_class: AssetClass, expected: str) -> None:
    assert object_key(asset_class, "u_1", "req-1", "wav", NOW) == expected


@pytest.mark.parametrize(("asset_class", "key"), EXPECTED)
def test_parse_key_round_trip(asset_class: AssetClass, key: str) -> None:
    parsed = parse_key(key)
    assert parsed == (asset_class, "u_1")
    assert parsed is not None
    assert parsed.asset_class is asset_class
    assert parsed.user_id == "u_1"


def test_object_key_renders_utc() -> None:
    # 01:30 on 1 May at UTC+5 is 20:30 on 30 April in UTC.
    moment = datetime(2026, 5, 1, 1, 30, 0, tzinfo=timezone(timedelta(hours=5)))
    assert object_key(AssetClass.UPLOADS, "u", "r", "mp3", moment) == "uploads/u/2026/04/30/203000-r.mp3"


def test_object_key_needs_an_aware_datetime() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        object_key(AssetClass.UPLOADS, "u", "r", "mp3", NOW.replace(tzinfo=None))


@pytest.mark.parametrize(
    ("user_id", "request_id", "ext"),
    [
        ("", "r", "wav"),
        ("u", "", "wav"),
        ("u", "r", ""),
        ("../u", "r", "wav"),
        ("u/v", "r", "wav"),
        ("u", "r/../x", "wav"),
        ("u v", "r", "wav"),
        ("u.v", "r", "wav"),
        ("u", "r\n", "wav"),
        ("ü", "r", "wav"),
        ("u", "r", "WAV"),
        ("u", "r", ".wav"),
        ("u", "r", "wav/x"),
        ("u", "r", "toolongext"),
        ("u" * 129, "r", "wav"),
    ],
)
def test_unsafe_parts_are_rejected(user_id: str, request_id: str, ext: str) -> None:
    with pytest.raises(ValueError, match="not allowed"):
        object_key(AssetClass.UPLOADS, user_id, request_id, ext, NOW)


def test_ids_may_use_the_whole_safe_alphabet() -> None:
    user_id = "AZaz09_-" * 16
    key = object_key(AssetClass.IMAGES, user_id, "0f3c9a", "png", NOW)
    assert parse_key(key) == (AssetClass.IMAGES, user_id)


@pytest.mark.parametrize(
    "key",
    [
        "",
        "tts-output/",
        "unknown/u_1/2026/04/07/090503-req-1.wav",
        "tts-output/u_1/2026/04/07/090503-req-1",
        "tts-output/u_1/2026/04/07/090503-req-1.WAV",
        "tts-output/u_1/2026/4/07/090503-req-1.wav",
        "tts-output/u_1/2026/13/07/090503-req-1.wav",
        "tts-output/u_1/2026/04/07/256100-req-1.wav",
        "tts-output/u_1/extra/2026/04/07/090503-req-1.wav",
        "tts-output/../u_1/2026/04/07/090503-req-1.wav",
        "/tts-output/u_1/2026/04/07/090503-req-1.wav",
        "tts-output/u_1/2026/04/07/090503-req-1.wav\n",
        "xtts-output/u_1/2026/04/07/090503-req-1.wav",
        "tts-output/u_1/2026/04/07/090503-req-1.wav/more",
    ],
)
def test_parse_key_rejects_other_shapes(key: str) -> None:
    assert parse_key(key) is None


def test_parse_key_does_not_confuse_overlapping_prefixes() -> None:
    # "images/" is a suffix of "chat-images/": the prefix must match from the start of the key.
    chat = object_key(AssetClass.CHAT_IMAGES, "alice", "r1", "png", NOW)
    image = object_key(AssetClass.IMAGES, "alice", "r1", "png", NOW)
    assert parse_key(chat) == (AssetClass.CHAT_IMAGES, "alice")
    assert parse_key(image) == (AssetClass.IMAGES, "alice")


def test_user_prefixes_cover_every_class_and_the_soft_delete_area() -> None:
    prefixes = user_prefixes("u_1")
    own = [key.split("u_1/")[0] + "u_1/" for _, key in EXPECTED]
    assert prefixes == [*own, *(f"_deleted/{prefix}" for prefix in own)]
    with pytest.raises(ValueError, match="user_id"):
        user_prefixes("../u")
