"""Per-asset retention: which bucket prefix each kind of media lands under and how long it is kept.

The table mirrors the storage policy decision (Q3): regenerable output gets a short TTL, user-supplied
sources a medium one, identity assets (voice recordings, voice models) are permanent. Bucket lifecycle rules
are configured per prefix from the same table.

Past its TTL an object is moved under `_deleted/{original key}` and kept there for the soft-delete window, so
support can restore it, before it is deleted for good.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType


class AssetClass(StrEnum):
    TTS_OUTPUT = "tts_output"
    STT_INPUT = "stt_input"
    STT_OUTPUT = "stt_output"
    AUDIO_JOBS = "audio_jobs"
    WATERMARK = "watermark"
    VOICE_RECORDINGS = "voice_recordings"
    VOICE_MODELS = "voice_models"
    VOICE_DESIGN = "voice_design"
    IMAGES = "images"
    VIDEOS = "videos"
    CHAT_IMAGES = "chat_images"
    UPLOADS = "uploads"


@dataclass(frozen=True, slots=True)
class RetentionRule:
    asset_class: AssetClass
    prefix: str
    ttl: timedelta | None  # None: kept permanently
    rationale: str

    @property
    def permanent(self) -> bool:
        return self.ttl is None


DELETED_PREFIX = "_deleted/"
SOFT_DELETE_WINDOW = timedelta(days=7)


def _days(n: int) -> timedelta:
    return timedelta(days=n)


RETENTION_TABLE: Mapping[AssetClass, RetentionRule] = MappingProxyType(
    {
        rule.asset_class: rule
        for rule in (
            RetentionRule(AssetClass.TTS_OUTPUT, "tts-output/", _days(7), "Regenerable — user can re-synthesize"),
            RetentionRule(AssetClass.STT_INPUT, "stt-input/", _days(30), "Non-regenerable user upload"),
            RetentionRule(AssetClass.STT_OUTPUT, "stt-output/", _days(30), "Tiny text files; matches input window"),
            RetentionRule(AssetClass.AUDIO_JOBS, "audio-jobs/", _days(7), "Regenerable derivative"),
            RetentionRule(AssetClass.WATERMARK, "watermark/", _days(7), "Regenerable derivative"),
            RetentionRule(AssetClass.VOICE_RECORDINGS, "voice-recordings/", None, "Identity asset; user investment"),
            RetentionRule(AssetClass.VOICE_MODELS, "voice-models/", None, "Identity asset"),
            RetentionRule(AssetClass.VOICE_DESIGN, "voice-design/", _days(14), "Long enough to evaluate + decide"),
            RetentionRule(AssetClass.IMAGES, "images/", _days(30), "Small files; moderate window"),
            RetentionRule(AssetClass.VIDEOS, "videos/", _days(14), "Large files = real cost"),
            RetentionRule(AssetClass.CHAT_IMAGES, "chat-images/", _days(90), "Tied to conversation lifetime"),
            RetentionRule(AssetClass.UPLOADS, "uploads/", _days(30), "Default when purpose unspecified"),
        )
    }
)


def rule_for(asset_class: AssetClass) -> RetentionRule:
    return RETENTION_TABLE[AssetClass(asset_class)]


def expires_at(asset_class: AssetClass, now: datetime) -> datetime | None:
    """When an asset stored at `now` (timezone-aware) expires, in UTC; None for permanent assets."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    ttl = rule_for(asset_class).ttl
    return None if ttl is None else now.astimezone(UTC) + ttl


def deleted_key(key: str) -> str:
    """Where an expired object waits out the soft-delete window."""
    return f"{DELETED_PREFIX}{key}"


def original_key(key: str) -> str:
    """The live key of `key`, which may name the object in `_deleted/` or already be the live key."""
    return key.removeprefix(DELETED_PREFIX)


def is_permanent(asset_class: str) -> bool:
    """Whether the class is kept forever; an unknown class counts as permanent, so nothing unknown is deleted."""
    try:
        return rule_for(AssetClass(asset_class)).permanent
    except ValueError:
        return True


def is_permanent_key(key: str) -> bool:
    """Whether `key` lies under a permanent prefix (checked besides the row's class: those are never touched)."""
    return any(key.startswith(rule.prefix) for rule in RETENTION_TABLE.values() if rule.permanent)


EXPIRING_CLASSES: tuple[AssetClass, ...] = tuple(c for c, rule in RETENTION_TABLE.items() if not rule.permanent)
