from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from tests.kit import samples
from voicegate.kit.media import SNIFF_BYTES, MediaKind, MediaType, measure_seconds, sniff


def _iso(brand: bytes) -> bytes:
    return samples.mp4_bytes(brand=brand)


class TestSniff:
    @pytest.mark.parametrize(
        ("data", "expected"),
        [
            pytest.param(samples.wav_bytes(), (MediaKind.AUDIO, "audio/wav", "wav"), id="wav"),
            pytest.param(samples.mp3_bytes(), (MediaKind.AUDIO, "audio/mpeg", "mp3"), id="mp3-frame"),
            pytest.param(b"ID3\x04\x00" + b"\x00" * 60, (MediaKind.AUDIO, "audio/mpeg", "mp3"), id="mp3-id3"),
            pytest.param(samples.ogg_opus_bytes(), (MediaKind.AUDIO, "audio/ogg", "ogg"), id="ogg"),
            pytest.param(samples.flac_bytes(), (MediaKind.AUDIO, "audio/flac", "flac"), id="flac"),
            pytest.param(_iso(b"M4A "), (MediaKind.AUDIO, "audio/mp4", "m4a"), id="m4a"),
            pytest.param(samples.adts_bytes(), (MediaKind.AUDIO, "audio/aac", "aac"), id="aac-adts"),
            pytest.param(_iso(b"isom"), (MediaKind.VIDEO, "video/mp4", "mp4"), id="mp4-isom"),
            pytest.param(_iso(b"mp42"), (MediaKind.VIDEO, "video/mp4", "mp4"), id="mp4-mp42"),
            pytest.param(_iso(b"qt  "), (MediaKind.VIDEO, "video/quicktime", "mov"), id="mov"),
            pytest.param(samples.WEBM, (MediaKind.VIDEO, "video/webm", "webm"), id="webm"),
            pytest.param(samples.MKV, (MediaKind.VIDEO, "video/x-matroska", "mkv"), id="mkv"),
            pytest.param(samples.PNG, (MediaKind.IMAGE, "image/png", "png"), id="png"),
            pytest.param(samples.JPEG, (MediaKind.IMAGE, "image/jpeg", "jpg"), id="jpeg"),
            pytest.param(samples.GIF, (MediaKind.IMAGE, "image/gif", "gif"), id="gif89a"),
            pytest.param(b"GIF87a" + b"\x00" * 10, (MediaKind.IMAGE, "image/gif", "gif"), id="gif87a"),
            pytest.param(samples.WEBP, (MediaKind.IMAGE, "image/webp", "webp"), id="webp"),
        ],
    )
    def test_recognises_allowed_types_by_content(self, data: bytes, expected: tuple[MediaKind, str, str]):
        assert sniff(data[:SNIFF_BYTES]) == MediaType(*expected)

    @pytest.mark.parametrize(
        "data",
        [
            pytest.param(b"", id="empty"),
            pytest.param(b"just some text that someone renamed to voice.wav\n", id="text"),
            pytest.param(b"%PDF-1.7\n" + b"\x00" * 60, id="pdf"),
            pytest.param(b"PK\x03\x04" + b"\x00" * 60, id="zip"),
            pytest.param(b"RIFF\x00\x00\x00\x00AVI LIST" + b"\x00" * 60, id="riff-avi"),
            pytest.param(_iso(b"heic"), id="heic-image"),
            pytest.param(_iso(b"avif"), id="avif-image"),
            pytest.param(bytes.fromhex("1a45dfa3") + b"\x00" * 60, id="ebml-without-doctype"),
            pytest.param(b"\xff\xfb\xf0\x00" + b"\x00" * 60, id="mpeg-bad-bitrate"),
            pytest.param(b"\xff\xeb\x90\x00" + b"\x00" * 60, id="mpeg-reserved-version"),
            pytest.param(b"\xff\xf1\x3c\x80" + b"\x00" * 60, id="adts-bad-sample-rate"),
            pytest.param(b"\xff\xff\xff\xff" + b"\x00" * 60, id="all-ones"),
        ],
    )
    def test_refuses_everything_else(self, data: bytes):
        assert sniff(data) is None

    def test_short_input_is_not_an_error(self):
        assert sniff(b"RI") is None
        assert sniff(b"\xff") is None


class TestMeasureSeconds:
    @pytest.mark.parametrize(
        ("make", "expected", "tolerance"),
        [
            pytest.param(lambda: samples.wav_bytes(1.5), Decimal("1.5"), Decimal(0), id="wav-pcm"),
            pytest.param(lambda: samples.wav_bytes(0.25, rate=8_000), Decimal("0.25"), Decimal(0), id="wav-8k"),
            pytest.param(lambda: samples.mulaw_wav_bytes(2.0), Decimal("2"), Decimal("0.001"), id="wav-mulaw"),
            # An MP3 encoder pads the first and last frame, so the length is a frame or two longer.
            pytest.param(lambda: samples.mp3_bytes(2.0), Decimal("2"), Decimal("0.15"), id="mp3"),
            pytest.param(lambda: samples.flac_bytes(3.0), Decimal("3"), Decimal(0), id="flac"),
            pytest.param(lambda: samples.mp4_bytes(4.25), Decimal("4.25"), Decimal(0), id="m4a"),
            pytest.param(lambda: samples.mp4_bytes(1.0, brand=b"isom"), Decimal("1"), Decimal(0), id="mp4"),
            pytest.param(lambda: samples.ogg_opus_bytes(2.5), Decimal("2.5"), Decimal(0), id="ogg-opus"),
        ],
    )
    def test_measures_audio(self, make: Callable[[], bytes], expected: Decimal, tolerance: Decimal):
        seconds = measure_seconds(make())
        assert seconds is not None
        assert abs(seconds - expected) <= tolerance
        assert seconds == seconds.quantize(Decimal("0.001"))

    @pytest.mark.parametrize(
        "data",
        [
            pytest.param(samples.PNG, id="image"),
            pytest.param(samples.WEBM, id="webm"),
            pytest.param(b"plain text", id="unknown"),
            pytest.param(b"", id="empty"),
            pytest.param(samples.wav_bytes()[:20], id="truncated-wav"),
            pytest.param(b"fLaC" + b"\x00" * 8, id="truncated-flac"),
            pytest.param(samples.mp4_bytes()[:30], id="mp4-without-moov"),
            pytest.param(b"OggS" + b"\x00" * 60, id="damaged-ogg"),
        ],
    )
    def test_returns_none_when_not_measurable(self, data: bytes):
        assert measure_seconds(data) is None

    def test_reads_a_file_on_disk(self, tmp_path: Path):
        path = tmp_path / "clip.bin"
        path.write_bytes(samples.wav_bytes(0.5))
        assert measure_seconds(path) == Decimal("0.500")
