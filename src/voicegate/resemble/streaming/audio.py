"""Counting the audio a client was sent: raw PCM after an optional WAV header, whole samples only."""

from __future__ import annotations

import io
import struct
import wave
from decimal import ROUND_DOWN, Decimal

from voicegate.errors import UpstreamError

SAMPLE_WIDTH = {"PCM_16": 2, "PCM_24": 3, "PCM_32": 4}
DEFAULT_WIDTH = 2  # Resemble streams 16-bit PCM unless asked otherwise


def split_wav_header(chunk: bytes) -> tuple[bytes, int | None, int | None]:
    """`(pcm, sample_rate, sample_width)` for a chunk that starts with a RIFF/WAVE header; the chunk itself and
    no format when it does not."""
    if chunk[:4] != b"RIFF" or chunk[8:12] != b"WAVE":
        return chunk, None, None
    offset, rate, width = 12, None, None
    while offset + 8 <= len(chunk):
        name, size = chunk[offset : offset + 4], struct.unpack_from("<I", chunk, offset + 4)[0]
        body = offset + 8
        if name == b"fmt " and size >= 16 and body + 16 <= len(chunk):
            _, _, rate, _, _, bits = struct.unpack_from("<HHIIHH", chunk, body)
            width = bits // 8 or None
        if name == b"data":
            return chunk[body:], rate, width
        offset = body + size + (size % 2)
    raise UpstreamError(extra={"reason": "stream audio with a WAV header but no data chunk"})


class DeliveredAudio:
    """The PCM an utterance has delivered so far, and how many seconds that is."""

    def __init__(self, *, sample_rate: int | None, width: int | None) -> None:
        self.sample_rate = sample_rate
        self.width = width or DEFAULT_WIDTH
        self.pcm = bytearray()
        self._first = True

    def add(self, chunk: bytes, frame_rate: int | None) -> None:
        if self._first:
            self._first = False
            chunk, rate, width = split_wav_header(chunk)
            self.sample_rate = rate or self.sample_rate
            self.width = width or self.width
        self.sample_rate = frame_rate or self.sample_rate
        self.pcm.extend(chunk)

    @property
    def seconds(self) -> Decimal:
        if not self.pcm:
            return Decimal(0)
        if not self.sample_rate:
            raise UpstreamError(extra={"reason": "stream audio without a sample rate"})
        samples = len(self.pcm) // self.width
        # rounded down: never more than was sent
        return (Decimal(samples) / Decimal(self.sample_rate)).quantize(Decimal("0.000001"), rounding=ROUND_DOWN)

    def as_wav(self) -> bytes:
        """The delivered audio as one WAV file (whole samples), for the TTS output mirror."""
        buffer = io.BytesIO()
        with wave.open(buffer, "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(self.width)
            out.setframerate(self.sample_rate or 1)
            out.writeframes(bytes(self.pcm[: len(self.pcm) - len(self.pcm) % self.width]))
        return buffer.getvalue()
