"""Deterministic synthetic audio: a quiet tone rendered as WAV (PCM 16/24/32-bit or G.711 mu-law) or MP3.

Pure functions, no I/O. Samples are computed for a single period of the tone and the encoded period is
tiled to the requested length, so even minutes of 48 kHz audio cost only a few byte copies.
"""

from __future__ import annotations

import io
import math
import struct
import wave
from dataclasses import dataclass
from typing import Literal

import lameenc

Precision = Literal["MULAW", "PCM_16", "PCM_24", "PCM_32"]
OutputFormat = Literal["wav", "mp3"]

PRECISIONS: tuple[Precision, ...] = ("MULAW", "PCM_16", "PCM_24", "PCM_32")
OUTPUT_FORMATS: tuple[OutputFormat, ...] = ("wav", "mp3")
SAMPLE_RATES: tuple[int, ...] = (8000, 16000, 22050, 32000, 44100, 48000)
SAMPLE_WIDTH: dict[Precision, int] = {"MULAW": 1, "PCM_16": 2, "PCM_24": 3, "PCM_32": 4}

DEFAULT_TONE_HZ = 220.0
AMPLITUDE = 0.1  # fraction of full scale: quiet but clearly not silence
MP3_BITRATE_KBPS = 64  # valid for MPEG-1, -2 and -2.5, so LAME never resamples our rates

# LAME prepends 576 (encoder delay) + 529 (MDCT delay) samples and pads the tail to a whole frame.
_LAME_DELAY_SAMPLES = 1105

WAVE_FORMAT_MULAW = 7
_ULAW_BIAS = 0x21  # in 14-bit units
_ULAW_CLIP = 8159


@dataclass(frozen=True)
class RenderedAudio:
    data: bytes
    duration: float  # seconds, as a decoder will report it
    sample_rate: int
    output_format: OutputFormat


def frame_count(duration: float, sample_rate: int) -> int:
    return max(1, round(duration * sample_rate))


def _tone_period(sample_rate: int, tone_hz: float) -> list[float]:
    """One period of the tone (integral number of samples), values in [-AMPLITUDE, AMPLITUDE]."""
    n = max(2, round(sample_rate / tone_hz))
    return [AMPLITUDE * (0.8 * math.sin(2 * math.pi * i / n) + 0.2 * math.sin(4 * math.pi * i / n)) for i in range(n)]


def linear_to_ulaw(sample: int) -> int:
    """G.711 mu-law code of one signed 16-bit sample (same rounding as the Sun/CCITT reference coder)."""
    value = sample >> 2  # 14-bit magnitude; the floor shift is what the reference does for negatives
    mask = 0xFF
    if value < 0:
        value, mask = -value, 0x7F
    value = min(value, _ULAW_CLIP) + _ULAW_BIAS
    segment = max(0, value.bit_length() - 6)
    if segment >= 8:
        return 0x7F ^ mask
    return ((segment << 4) | ((value >> (segment + 1)) & 0x0F)) ^ mask


def ulaw_to_linear(code: int) -> int:
    """G.711 mu-law decoding to a signed 16-bit sample."""
    code = ~code & 0xFF
    magnitude = ((((code & 0x0F) << 3) + 0x84) << ((code >> 4) & 0x07)) - 0x84
    return -magnitude if code & 0x80 else magnitude


def _encode_period(period: list[float], precision: Precision) -> bytes:
    if precision == "PCM_32":
        return struct.pack(f"<{len(period)}i", *(round(x * 2_147_483_647) for x in period))
    if precision == "PCM_24":
        return b"".join(round(x * 8_388_607).to_bytes(3, "little", signed=True) for x in period)
    pcm16 = [round(x * 32_767) for x in period]
    if precision == "MULAW":
        return bytes(linear_to_ulaw(s) for s in pcm16)
    return struct.pack(f"<{len(pcm16)}h", *pcm16)


def _tile(unit: bytes, length: int) -> bytes:
    return (unit * (length // len(unit) + 1))[:length]


def tone_frames(frames: int, sample_rate: int, precision: Precision, tone_hz: float = DEFAULT_TONE_HZ) -> bytes:
    """Raw little-endian sample data (mono) for `frames` frames."""
    unit = _encode_period(_tone_period(sample_rate, tone_hz), precision)
    return _tile(unit, frames * SAMPLE_WIDTH[precision])


def wav_bytes(frames: int, sample_rate: int, precision: Precision, tone_hz: float = DEFAULT_TONE_HZ) -> bytes:
    data = tone_frames(frames, sample_rate, precision, tone_hz)
    if precision == "MULAW":
        return _mulaw_wav(data, sample_rate)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(SAMPLE_WIDTH[precision])
        out.setframerate(sample_rate)
        out.writeframes(data)
    return buf.getvalue()


def _mulaw_wav(data: bytes, sample_rate: int) -> bytes:
    # The stdlib `wave` module only writes integer PCM, so the non-PCM header (fmt with cbSize, and the
    # `fact` chunk that non-PCM formats require) is written by hand.
    fmt = struct.pack("<HHIIHHH", WAVE_FORMAT_MULAW, 1, sample_rate, sample_rate, 1, 8, 0)
    fact = struct.pack("<I", len(data))
    pad = b"\x00" if len(data) % 2 else b""
    chunks = (
        b"fmt " + struct.pack("<I", len(fmt)) + fmt
        + b"fact" + struct.pack("<I", len(fact)) + fact
        + b"data" + struct.pack("<I", len(data)) + data + pad
    )  # fmt: skip
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


def mp3_samples_per_frame(sample_rate: int) -> int:
    return 1152 if sample_rate >= 32000 else 576


def mp3_bytes(frames: int, sample_rate: int, tone_hz: float = DEFAULT_TONE_HZ) -> bytes:
    """CBR mono MP3 whose decoded length is `frames` samples to within half an MPEG frame."""
    spf = mp3_samples_per_frame(sample_rate)
    # LAME adds its delay in front and rounds up to whole frames; feed correspondingly fewer samples.
    pcm_frames = max(spf, frames - _LAME_DELAY_SAMPLES - spf // 2)
    encoder = lameenc.Encoder()
    encoder.set_channels(1)
    encoder.set_in_sample_rate(sample_rate)
    encoder.set_out_sample_rate(sample_rate)
    encoder.set_bit_rate(MP3_BITRATE_KBPS)
    encoder.set_quality(7)
    pcm = tone_frames(pcm_frames, sample_rate, "PCM_16", tone_hz)
    return bytes(encoder.encode(pcm)) + bytes(encoder.flush())


def render(
    duration: float,
    *,
    sample_rate: int,
    precision: Precision = "PCM_32",
    output_format: OutputFormat = "wav",
    tone_hz: float = DEFAULT_TONE_HZ,
) -> RenderedAudio:
    """Render `duration` seconds of tone. `precision` only applies to WAV, as in Resemble's API."""
    frames = frame_count(duration, sample_rate)
    if output_format == "mp3":
        data = mp3_bytes(frames, sample_rate, tone_hz)
    else:
        data = wav_bytes(frames, sample_rate, precision, tone_hz)
    return RenderedAudio(data=data, duration=frames / sample_rate, sample_rate=sample_rate, output_format=output_format)
