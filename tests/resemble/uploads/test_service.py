from __future__ import annotations

import pytest

from voicegate.errors import PayloadTooLarge, Unprocessable
from voicegate.resemble.uploads.service import (
    ENVELOPE_ALLOWANCE,
    PURPOSES,
    asset_class_for,
    check_declared_length,
    sanitize_file_name,
)
from voicegate.storage.retention import AssetClass, rule_for


class TestAssetClassFor:
    @pytest.mark.parametrize(
        ("purpose", "asset_class", "prefix"),
        [
            (None, AssetClass.UPLOADS, "uploads/"),
            ("", AssetClass.UPLOADS, "uploads/"),
            ("voice_clone", AssetClass.VOICE_RECORDINGS, "voice-recordings/"),
            ("stt_input", AssetClass.STT_INPUT, "stt-input/"),
            ("watermark_input", AssetClass.WATERMARK, "watermark/"),
            ("audio_job_input", AssetClass.AUDIO_JOBS, "audio-jobs/"),
        ],
    )
    def test_maps_each_purpose_to_its_prefix(self, purpose: str | None, asset_class: AssetClass, prefix: str):
        assert asset_class_for(purpose) is asset_class
        assert rule_for(asset_class).prefix == prefix

    def test_only_voice_clones_are_permanent(self):
        assert [p for p, c in PURPOSES.items() if rule_for(c).permanent] == ["voice_clone"]

    @pytest.mark.parametrize("purpose", ["Voice_Clone", "forever", "uploads", "voice_recordings"])
    def test_anything_else_is_refused_naming_the_allowed_values(self, purpose: str):
        with pytest.raises(Unprocessable) as caught:
            asset_class_for(purpose)
        assert all(name in caught.value.detail for name in PURPOSES)


class TestSanitizeFileName:
    @pytest.mark.parametrize(
        ("sent", "kept"),
        [
            ("voice.wav", "voice.wav"),
            ("../../etc/passwd", "passwd"),
            ("C:\\Users\\me\\take 1.mp3", "take 1.mp3"),
            ("a\x00b\x07c\u202e.wav", "abc.wav"),
            ("  spaced.wav  ", "spaced.wav"),
            ("..", "upload.wav"),
            ("dir/", "upload.wav"),
            (None, "upload.wav"),
            ("x" * 300 + ".flac", "x" * 250 + ".flac"),
            ("y" * 300, "y" * 255),
        ],
    )
    def test_keeps_a_safe_base_name(self, sent: str | None, kept: str):
        assert sanitize_file_name(sent, "wav") == kept


class TestCheckDeclaredLength:
    @pytest.mark.parametrize("declared", [None, "", "abc", "\u00b2", "0", str(1000 + ENVELOPE_ALLOWANCE)])
    def test_allows_missing_unparsable_or_small_lengths(self, declared: str | None):
        check_declared_length(declared, 1000)

    def test_refuses_a_body_larger_than_the_limit_plus_the_envelope(self):
        with pytest.raises(PayloadTooLarge):
            check_declared_length(str(1001 + ENVELOPE_ALLOWANCE), 1000)
