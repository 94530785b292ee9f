"""Small media files generated in code (no binary fixtures): real encoders where one is installed (`wave`,
lameenc), otherwise the container's headers built by hand or with mutagen's own Ogg page writer."""

from __future__ import annotations

import io
import struct
import wave

import lameenc
from mutagen.ogg import OggPage


def pcm_silence(seconds: float, rate: int, channels: int = 1) -> bytes:
    return b"\x00\x00" * int(seconds * rate) * channels


def wav_bytes(seconds: float = 1.0, rate: int = 16_000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(pcm_silence(seconds, rate))
    return buffer.getvalue()


def wav_header(data_bytes: int, rate: int = 16_000) -> bytes:
    """The 44-byte header of a mono 16-bit PCM WAV whose data chunk holds `data_bytes`."""
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    return (
        b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVE"
        + b"fmt " + struct.pack("<I", len(fmt)) + fmt
        + b"data" + struct.pack("<I", data_bytes)
    )  # fmt: skip


def mulaw_wav_bytes(seconds: float = 1.0, rate: int = 8_000) -> bytes:
    """G.711 mu-law WAV (format 7), which `wave` refuses to read."""
    frames = int(seconds * rate)
    fmt = struct.pack("<HHIIHHH", 7, 1, rate, rate, 1, 8, 0)
    return (
        b"RIFF" + struct.pack("<I", 4 + 8 + len(fmt) + 8 + frames) + b"WAVE"
        + b"fmt " + struct.pack("<I", len(fmt)) + fmt
        + b"data" + struct.pack("<I", frames) + b"\xff" * frames
    )  # fmt: skip


def mp3_bytes(seconds: float = 1.0, rate: int = 16_000) -> bytes:
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(32)
    encoder.set_in_sample_rate(rate)
    encoder.set_channels(1)
    encoder.set_quality(7)
    return bytes(encoder.encode(pcm_silence(seconds, rate)) + encoder.flush())


def flac_bytes(seconds: float = 1.0, rate: int = 44_100) -> bytes:
    """A FLAC stream header: the STREAMINFO block carries the sample rate and total sample count."""
    samples = int(seconds * rate)
    packed = (rate << 44) | (0 << 41) | (15 << 36) | samples  # 20-bit rate, mono, 16 bits per sample
    info = struct.pack(">HH", 4096, 4096) + b"\x00" * 6 + packed.to_bytes(8, "big") + b"\x00" * 16
    return b"fLaC" + bytes([0x80]) + len(info).to_bytes(3, "big") + info


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def mp4_bytes(seconds: float = 1.0, brand: bytes = b"M4A ") -> bytes:
    """An ISO base media file: `ftyp` plus a `moov` whose `mvhd` gives the duration."""
    timescale = 1000
    mvhd = b"\x00\x00\x00\x00" + struct.pack(">IIII", 0, 0, timescale, int(seconds * timescale)) + b"\x00" * 80
    return _box(b"ftyp", brand + b"\x00\x00\x00\x00" + brand + b"isom") + _box(b"moov", _box(b"mvhd", mvhd))


def ogg_opus_bytes(seconds: float = 1.0) -> bytes:
    """An Ogg Opus stream (headers plus one audio page) whose last granule position gives the duration."""
    pre_skip = 312
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, pre_skip, 48_000, 0, 0)
    tags = b"OpusTags" + struct.pack("<I", 4) + b"test" + struct.pack("<I", 0)
    packets = [(head, 0), (tags, 0), (b"\xf8\xff\xfe" * 10, pre_skip + int(seconds * 48_000))]
    out = b""
    for sequence, (packet, position) in enumerate(packets):
        page = OggPage()
        page.serial, page.sequence, page.position = 1, sequence, position
        page.first, page.last = sequence == 0, sequence == len(packets) - 1
        page.packets = [packet]
        out += page.write()
    return out


def adts_bytes() -> bytes:
    """One AAC ADTS frame header (MPEG-4, LC, 44.1 kHz, stereo) followed by padding."""
    return bytes([0xFF, 0xF1, 0x50, 0x80, 0x02, 0x1F, 0xFC]) + b"\x00" * 64


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 60
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 60
GIF = b"GIF89a" + b"\x01\x00\x01\x00" + b"\x00" * 60
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 60
WEBM = bytes.fromhex("1a45dfa3") + b"\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x84webm" + b"\x00" * 40
MKV = bytes.fromhex("1a45dfa3") + b"\xa3\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x88matroska" + b"\x00" * 40
