"""Recognising media by content and measuring how long it plays: pure functions, no I/O beyond the given file.

`sniff` judges the first bytes of a file (its magic numbers), never its name, so a text file renamed `.wav` is
not audio. `measure_seconds` reads the container's own length fields (`wave` for WAV, mutagen for the rest).
"""

from __future__ import annotations

import contextlib
import io
import math
import wave
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import BinaryIO

import mutagen
from mutagen.aac import AAC
from mutagen.flac import FLAC
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4
from mutagen.wave import WAVE

# Every signature below is decided within the first 64 bytes (the EBML DocType is the furthest one out).
SNIFF_BYTES = 64
MILLISECOND = Decimal("0.001")


class MediaKind(StrEnum):
    AUDIO = "audio"
    VIDEO = "video"
    IMAGE = "image"


@dataclass(frozen=True, slots=True)
class MediaType:
    kind: MediaKind
    mime: str
    extension: str  # canonical, without the dot


WAV = MediaType(MediaKind.AUDIO, "audio/wav", "wav")
MP3_AUDIO = MediaType(MediaKind.AUDIO, "audio/mpeg", "mp3")
OGG = MediaType(MediaKind.AUDIO, "audio/ogg", "ogg")
FLAC_AUDIO = MediaType(MediaKind.AUDIO, "audio/flac", "flac")
M4A = MediaType(MediaKind.AUDIO, "audio/mp4", "m4a")
AAC_AUDIO = MediaType(MediaKind.AUDIO, "audio/aac", "aac")
MP4_VIDEO = MediaType(MediaKind.VIDEO, "video/mp4", "mp4")
MOV = MediaType(MediaKind.VIDEO, "video/quicktime", "mov")
WEBM = MediaType(MediaKind.VIDEO, "video/webm", "webm")
MKV = MediaType(MediaKind.VIDEO, "video/x-matroska", "mkv")
PNG = MediaType(MediaKind.IMAGE, "image/png", "png")
JPEG = MediaType(MediaKind.IMAGE, "image/jpeg", "jpg")
GIF = MediaType(MediaKind.IMAGE, "image/gif", "gif")
WEBP = MediaType(MediaKind.IMAGE, "image/webp", "webp")

# ISO base media brands (bytes 8-12 of the `ftyp` box) that are audio-only or QuickTime; every other brand is
# MP4 video, except the image brands (HEIF/AVIF), which are not on the allow-list.
_AUDIO_BRANDS = frozenset({b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "})
_QUICKTIME_BRANDS = frozenset({b"qt  "})
_IMAGE_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"avif", b"avis"})

_SIMPLE_SIGNATURES: tuple[tuple[bytes, MediaType], ...] = (
    (b"OggS", OGG),
    (b"fLaC", FLAC_AUDIO),
    (b"ID3", MP3_AUDIO),
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
    (b"GIF87a", GIF),
    (b"GIF89a", GIF),
)


def _riff(head: bytes) -> MediaType | None:
    form = head[8:12]
    return WAV if form == b"WAVE" else WEBP if form == b"WEBP" else None


def _iso_media(head: bytes) -> MediaType | None:
    brand = head[8:12]
    if brand in _IMAGE_BRANDS:
        return None
    if brand in _AUDIO_BRANDS:
        return M4A
    return MOV if brand in _QUICKTIME_BRANDS else MP4_VIDEO


def _matroska(head: bytes) -> MediaType | None:
    # The EBML header's DocType element (ID 0x4282) names the flavour; it sits within the first few dozen bytes.
    doc_type = head[: SNIFF_BYTES * 2]
    if b"\x42\x82" not in doc_type:
        return None
    if b"webm" in doc_type:
        return WEBM
    return MKV if b"matroska" in doc_type else None


def _mpeg_frame(head: bytes) -> MediaType | None:
    """An AAC ADTS or MPEG audio (MP3) frame header at offset 0, judged by its fixed bit fields."""
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return None
    if head[1] & 0xF6 == 0xF0:  # 12-bit sync, layer 00: ADTS
        return AAC_AUDIO if (head[2] >> 2) & 0x0F < 13 else None
    version, layer = (head[1] >> 3) & 0x03, (head[1] >> 1) & 0x03
    bitrate, sample_rate = head[2] >> 4, (head[2] >> 2) & 0x03
    if version == 0b01 or layer == 0 or bitrate == 0x0F or sample_rate == 0b11:
        return None
    return MP3_AUDIO


def sniff(head: bytes) -> MediaType | None:
    """The allowed media type whose signature starts `head` (pass at least SNIFF_BYTES), or None."""
    for magic, media in _SIMPLE_SIGNATURES:
        if head.startswith(magic):
            return media
    if head.startswith(b"RIFF"):
        return _riff(head)
    if head[4:8] == b"ftyp":
        return _iso_media(head)
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return _matroska(head)
    return _mpeg_frame(head)


def _wave_seconds(handle: BinaryIO) -> float | Decimal:
    try:
        with wave.open(handle, "rb") as reader:
            frames, rate = reader.getnframes(), reader.getframerate()
        return Decimal(frames) / Decimal(rate)
    except wave.Error:
        # `wave` reads PCM only; mutagen also understands float, mu-law and WAVE_FORMAT_EXTENSIBLE headers.
        handle.seek(0)
        return _length_of(WAVE(handle))


def _length_of(loaded: mutagen.FileType) -> float:
    if loaded.info is None:
        raise mutagen.MutagenError("no stream information")
    return float(loaded.info.length)


def _mutagen_seconds(loader: Callable[[BinaryIO], mutagen.FileType]) -> Callable[[BinaryIO], float]:
    return lambda handle: _length_of(loader(handle))


def _any_ogg(handle: BinaryIO) -> mutagen.FileType:
    # Ogg carries Vorbis, Opus, FLAC or Speex; mutagen picks the codec from the first packet.
    loaded = mutagen.File(handle)
    if loaded is None:
        raise mutagen.MutagenError("unrecognised Ogg stream")
    return loaded


_MEASURERS: Mapping[MediaType, Callable[[BinaryIO], float | Decimal]] = MappingProxyType(
    {
        WAV: _wave_seconds,
        MP3_AUDIO: _mutagen_seconds(MP3),
        OGG: _mutagen_seconds(_any_ogg),
        FLAC_AUDIO: _mutagen_seconds(FLAC),
        M4A: _mutagen_seconds(MP4),
        MP4_VIDEO: _mutagen_seconds(MP4),
        MOV: _mutagen_seconds(MP4),
        AAC_AUDIO: _mutagen_seconds(AAC),
    }
)


@contextlib.contextmanager
def _opened(source: bytes | Path) -> Iterator[BinaryIO]:
    if isinstance(source, bytes | bytearray | memoryview):
        yield io.BytesIO(source)
    else:
        with Path(source).open("rb") as handle:
            yield handle


def measure_seconds(source: bytes | Path) -> Decimal | None:
    """How long the audio (or video) plays, to the millisecond; None when it cannot be measured.

    Not measurable: images, WebM/Matroska, unknown content and files whose headers are damaged. This reads only
    headers (and, for MP3, a few frames), but it is blocking I/O: run it in a worker thread for files on disk.
    """
    with _opened(source) as handle:
        media = sniff(handle.read(SNIFF_BYTES))
        measure = _MEASURERS.get(media) if media is not None else None
        if measure is None:
            return None
        handle.seek(0)
        try:
            seconds = measure(handle)
        except (mutagen.MutagenError, wave.Error, EOFError, ValueError, ZeroDivisionError):
            return None
    if isinstance(seconds, float) and not math.isfinite(seconds):
        return None
    value = Decimal(str(seconds)) if isinstance(seconds, float) else seconds
    return value.quantize(MILLISECOND, rounding=ROUND_HALF_UP) if value >= 0 else None
