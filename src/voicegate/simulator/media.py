"""Input media: sniff the container from its first bytes, measure its duration, and mark watermarked copies.

Pure functions, no I/O. Audio durations come from `wave` (PCM; other WAV codecs such as mu-law through a RIFF
chunk walk) and `mutagen` (MP3, Ogg, FLAC, M4A); video durations from the MP4 `mvhd` box or the WebM `Info`
element. Images have no duration.
"""

from __future__ import annotations

import io
import struct
import wave
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import mutagen
from mutagen.flac import FLAC
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4
from mutagen.oggflac import OggFLAC
from mutagen.oggopus import OggOpus
from mutagen.oggspeex import OggSpeex
from mutagen.oggvorbis import OggVorbis

from . import audio

MediaType = Literal["audio", "video", "image"]

# Resemble's "Perth" watermark stands in as a marker that survives byte-for-byte copies (e.g. a mirror).
WATERMARK_MARKER = b"RSMW/perth_v2/"
DEFAULT_OUTPUT_SAMPLE_RATE = 44100
_MIN_OUTPUT_RATE, _MAX_OUTPUT_RATE = 8000, 48000
_ISO_VIDEO_HANDLERS = frozenset({b"vide"})
_AUDIO_ONLY_BRANDS = frozenset({b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "})


class MediaError(ValueError):
    """The bytes are not a supported, readable media file; the message is shown to API clients."""


@dataclass(frozen=True)
class MediaInfo:
    media_type: MediaType
    container: str  # wav, mp3, ogg, flac, m4a, mp4, webm, png, jpeg
    duration: float | None  # seconds; None for images
    sample_rate: int | None = None
    channels: int | None = None

    @property
    def extension(self) -> str:
        return {"jpeg": "jpg"}.get(self.container, self.container)

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.extension]


CONTENT_TYPES = {
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
    "ogg": "audio/ogg",
    "flac": "audio/flac",
    "m4a": "audio/mp4",
    "mp4": "video/mp4",
    "webm": "video/webm",
    "png": "image/png",
    "jpg": "image/jpeg",
    "bin": "application/octet-stream",
}


def sniff(data: bytes) -> str | None:
    """The container named by the file's magic bytes, or None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:4] == b"OggS":
        return "ogg"
    if data[:4] == b"fLaC":
        return "flac"
    if data[:4] == b"\x1a\x45\xdf\xa3":
        return "webm"
    if data[4:8] == b"ftyp":
        return "mp4"
    if data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "mp3"
    return None


def probe(data: bytes) -> MediaInfo:
    """Identify and measure `data`; raises `MediaError` for anything unsupported or unreadable."""
    container = sniff(data)
    if container is None:
        raise MediaError("Unsupported media format")
    try:
        if container == "wav":
            return _probe_wav(data)
        if container in {"png", "jpeg"}:
            return MediaInfo("image", container, None)
        if container == "webm":
            return _probe_webm(data)
        if container == "mp4":
            return _probe_iso(data)
        return _probe_mutagen(data, container)
    except MediaError:
        raise
    except Exception as exc:  # parsers raise all sorts of errors on corrupt input
        raise MediaError(f"Could not read {container} media: {type(exc).__name__}") from None


def _checked(info: MediaInfo) -> MediaInfo:
    if info.duration is not None and not info.duration > 0:
        raise MediaError(f"Could not read {info.container} media: no audio frames")
    return info


def _probe_wav(data: bytes) -> MediaInfo:
    try:
        with wave.open(io.BytesIO(data), "rb") as wav:
            rate, frames, channels = wav.getframerate(), wav.getnframes(), wav.getnchannels()
        return _checked(MediaInfo("audio", "wav", frames / rate, rate, channels))
    except (wave.Error, EOFError):
        pass  # not integer PCM (e.g. mu-law): measure from the header instead
    fmt, data_size = None, None
    for chunk_id, body in riff_chunks(data):
        if chunk_id == b"fmt " and len(body) >= 16:
            fmt = struct.unpack("<HHIIHH", body[:16])
        elif chunk_id == b"data":
            data_size = len(body)
    if fmt is None or data_size is None:
        raise MediaError("Could not read wav media: missing fmt or data chunk")
    _, channels, rate, byte_rate, _, _ = fmt
    if not rate or not byte_rate:
        raise MediaError("Could not read wav media: bad fmt chunk")
    return _checked(MediaInfo("audio", "wav", data_size / byte_rate, rate, channels))


def riff_chunks(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """The top-level chunks of a RIFF file (a truncated last chunk is cut short)."""
    pos = 12
    while pos + 8 <= len(data):
        chunk_id, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        yield chunk_id, data[pos + 8 : pos + 8 + size]
        pos += 8 + size + (size % 2)


def _probe_mutagen(data: bytes, container: str) -> MediaInfo:
    kinds = {
        "mp3": [MP3],
        "flac": [FLAC],
        "ogg": [OggVorbis, OggOpus, OggFLAC, OggSpeex],
    }[container]
    parsed = mutagen.File(io.BytesIO(data), options=kinds)
    if parsed is None:
        raise MediaError(f"Could not read {container} media")
    info = parsed.info
    return _checked(
        MediaInfo(
            "audio",
            container,
            float(info.length),
            getattr(info, "sample_rate", None) or None,
            getattr(info, "channels", None) or None,
        )
    )


# ISO base media (MP4 / M4A)


def _iso_boxes(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of each box in data[start:end]."""
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        header = 8
        if size == 1:
            if pos + 16 > end:
                return
            size, header = struct.unpack(">Q", data[pos + 8 : pos + 16])[0], 16
        elif size == 0:
            size = end - pos
        if size < header:
            return
        yield kind, pos + header, min(pos + size, end)
        pos += size


def _probe_iso(data: bytes) -> MediaInfo:
    brand = data[8:12]
    moov = next(((s, e) for kind, s, e in _iso_boxes(data, 0, len(data)) if kind == b"moov"), None)
    if moov is None:
        raise MediaError("Could not read mp4 media: no moov box")
    duration: float | None = None
    handlers: set[bytes] = set()
    for kind, s, e in _iso_boxes(data, *moov):
        if kind == b"mvhd":
            version = data[s]
            if version == 1:
                timescale, length = struct.unpack(">IQ", data[s + 20 : s + 32])
            else:
                timescale, length = struct.unpack(">II", data[s + 12 : s + 20])
            duration = length / timescale if timescale else None
        elif kind == b"trak":
            handlers.update(_track_handlers(data, s, e))
    is_video = bool(handlers & _ISO_VIDEO_HANDLERS) or (not handlers and brand not in _AUDIO_ONLY_BRANDS)
    if is_video:
        if duration is None:
            raise MediaError("Could not read mp4 media: no mvhd box")
        return _checked(MediaInfo("video", "mp4", duration))
    sample_rate, channels = None, None
    try:
        info: Any = MP4(io.BytesIO(data)).info
        duration = float(info.length) or duration
        sample_rate, channels = info.sample_rate or None, info.channels or None
    except Exception:  # mutagen wants a complete audio track; the movie header is enough for a duration
        if duration is None:
            raise
    return _checked(MediaInfo("audio", "m4a", duration, sample_rate, channels))


def _track_handlers(data: bytes, start: int, end: int) -> Iterator[bytes]:
    for kind, s, e in _iso_boxes(data, start, end):
        if kind == b"mdia":
            for inner, hs, _ in _iso_boxes(data, s, e):
                if inner == b"hdlr":
                    yield data[hs + 8 : hs + 12]


# WebM / Matroska (EBML)

_EBML_SEGMENT = 0x18538067
_EBML_INFO = 0x1549A966
_EBML_TIMESCALE = 0x2AD7B1
_EBML_DURATION = 0x4489
_EBML_TRACKS = 0x1654AE6B
_EBML_TRACK_ENTRY = 0xAE
_EBML_TRACK_TYPE = 0x83
_EBML_VIDEO_TRACK = 1
_EBML_VOID = 0xEC


def _vint(data: bytes, pos: int, *, keep_marker: bool) -> tuple[int | None, int]:
    """An EBML variable-length integer at `pos`: (value or None for "unknown size", next position)."""
    first = data[pos]
    if first == 0:
        raise MediaError("Could not read webm media: bad element header")
    length = 9 - first.bit_length()
    raw = int.from_bytes(data[pos : pos + length], "big")
    if pos + length > len(data):
        raise MediaError("Could not read webm media: truncated")
    if keep_marker:
        return raw, pos + length
    value = raw & ((1 << (7 * length)) - 1)
    return (None if value == (1 << (7 * length)) - 1 else value), pos + length


def _ebml_elements(data: bytes, start: int, end: int) -> Iterator[tuple[int, int, int]]:
    """(id, payload start, payload end) of each element in data[start:end]; unknown sizes run to `end`."""
    pos = start
    while pos < end:
        element_id, pos = _vint(data, pos, keep_marker=True)
        size, pos = _vint(data, pos, keep_marker=False)
        assert element_id is not None
        payload_end = end if size is None else min(pos + size, end)
        yield element_id, pos, payload_end
        pos = payload_end


def _probe_webm(data: bytes) -> MediaInfo:
    timescale, raw_duration, track_types = 1_000_000, None, []
    for element_id, s, e in _ebml_elements(data, 0, len(data)):
        if element_id != _EBML_SEGMENT:
            continue
        for child, cs, ce in _ebml_elements(data, s, e):
            if child == _EBML_INFO:
                for item, is_, ie in _ebml_elements(data, cs, ce):
                    if item == _EBML_TIMESCALE:
                        timescale = int.from_bytes(data[is_:ie], "big")
                    elif item == _EBML_DURATION:
                        raw_duration = struct.unpack(">f" if ie - is_ == 4 else ">d", data[is_:ie])[0]
            elif child == _EBML_TRACKS:
                for entry, es, ee in _ebml_elements(data, cs, ce):
                    if entry == _EBML_TRACK_ENTRY:
                        for item, is_, ie in _ebml_elements(data, es, ee):
                            if item == _EBML_TRACK_TYPE:
                                track_types.append(int.from_bytes(data[is_:ie], "big"))
            if raw_duration is not None and track_types:
                break
        break
    if raw_duration is None:
        raise MediaError("Could not read webm media: no duration")
    media_type: MediaType = "audio" if track_types and _EBML_VIDEO_TRACK not in track_types else "video"
    return _checked(MediaInfo(media_type, "webm", raw_duration * timescale / 1e9))


def is_silent(data: bytes) -> bool:
    """True for an integer-PCM WAV whose every sample is zero; other containers are not decoded, so never silent."""
    try:
        with wave.open(io.BytesIO(data), "rb") as wav:
            width, frames = wav.getsampwidth(), wav.readframes(wav.getnframes())
    except (wave.Error, EOFError):
        return False
    if width == 1:  # 8-bit WAV is unsigned: silence is 0x80
        return frames.count(0x80) == len(frames)
    return not frames.strip(b"\x00")


# outputs


def output_sample_rate(info: MediaInfo | None) -> int:
    rate = info.sample_rate if info is not None else None
    if rate is None:
        return DEFAULT_OUTPUT_SAMPLE_RATE
    return min(max(rate, _MIN_OUTPUT_RATE), _MAX_OUTPUT_RATE)


def render_wav(duration: float, sample_rate: int, *, tone_hz: float = audio.DEFAULT_TONE_HZ) -> bytes:
    """A 16-bit mono PCM WAV of `duration` seconds."""
    return audio.wav_bytes(audio.frame_count(duration, sample_rate), sample_rate, "PCM_16", tone_hz)


def watermark_payload(message: str) -> bytes:
    return WATERMARK_MARKER + message.encode()


def has_watermark(data: bytes) -> bool:
    return WATERMARK_MARKER in data


def watermark_wav(wav: bytes, message: str) -> bytes:
    """Append a private RIFF chunk (readers skip unknown chunks) and fix the RIFF size."""
    payload = watermark_payload(message)
    chunk = b"rsmw" + struct.pack("<I", len(payload)) + payload + (b"\x00" if len(payload) % 2 else b"")
    body = wav[8:] + chunk
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_image(width: int = 64, height: int = 64) -> bytes:
    """A small grey RGB PNG."""
    rows = b"".join(b"\x00" + b"\x80\x80\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(rows))
        + _png_chunk(b"IEND", b"")
    )


def watermark_png(png: bytes, message: str) -> bytes:
    """Insert a tEXt chunk just before IEND."""
    iend = png.rfind(b"IEND") - 4
    if iend < 8:
        raise MediaError("Could not read png media: no IEND chunk")
    return png[:iend] + _png_chunk(b"tEXt", b"Comment\x00" + watermark_payload(message)) + png[iend:]


def watermark_jpeg(jpeg: bytes, message: str) -> bytes:
    """Insert a COM segment right after SOI."""
    payload = watermark_payload(message)[:65533]
    return jpeg[:2] + b"\xff\xfe" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def watermark_video(data: bytes, container: str, message: str) -> bytes:
    """Append a box / element that players skip: an MP4 `free` box or an EBML Void element."""
    payload = watermark_payload(message)
    if container == "mp4":
        return data + struct.pack(">I", len(payload) + 8) + b"free" + payload
    return data + bytes([_EBML_VOID]) + (len(payload) | (1 << 56)).to_bytes(8, "big") + payload
