"""Audio in the formats OpenAI's speech API names, made from what Resemble produces (WAV or MP3) with PyAV.

Pure functions and small stateful converters, no I/O. `pcm` is OpenAI's: raw 24 kHz 16-bit little-endian mono.
"""

from __future__ import annotations

import io
import struct
import wave
from dataclasses import dataclass
from typing import Final, Literal, cast

import av
import av.error

from voicegate.errors import UpstreamError

SpeechFormat = Literal["mp3", "opus", "aac", "flac", "wav", "pcm"]
FORMATS: Final[tuple[SpeechFormat, ...]] = ("mp3", "opus", "aac", "flac", "wav", "pcm")
CONTENT_TYPES: Final[dict[str, str]] = {
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}
PCM_RATE: Final = 24_000
PCM_WIDTH: Final = 2
# (container, encoder, sample rate or None for the source's): opus in Ogg at 48 kHz, AAC as ADTS, FLAC native.
_ENCODERS: Final[dict[str, tuple[str, str, int | None]]] = {
    "opus": ("ogg", "libopus", 48_000),
    "aac": ("adts", "aac", None),
    "flac": ("flac", "flac", None),
}
_MAX_HEADER_BYTES: Final = 64 * 1024


def transcode(wav: bytes, fmt: SpeechFormat) -> bytes:
    """`wav` (a whole WAV file) as `fmt` (opus, aac, flac or pcm). An undecodable input is an upstream failure."""
    try:
        if fmt == "pcm":
            return _pcm_of(wav)
        container, codec, rate = _ENCODERS[fmt]
        out = io.BytesIO()
        with av.open(io.BytesIO(wav), "r") as source, av.open(out, "w", format=container) as sink:
            audio = source.streams.audio[0]
            stream = cast(av.AudioStream, sink.add_stream(codec, rate=rate or audio.rate, layout="mono"))
            for frame in source.decode(audio):  # the encoder resamples and re-frames as its codec needs
                for packet in stream.encode(frame):
                    sink.mux(packet)
            for packet in stream.encode(None):
                sink.mux(packet)
        return out.getvalue()
    except (av.error.FFmpegError, IndexError, ValueError) as exc:
        raise UpstreamError(extra={"reason": "synthesized audio could not be converted"}) from exc


def _pcm_of(wav: bytes) -> bytes:
    parser = WavStream()
    samples = parser.feed(wav)
    if parser.header is None:
        raise ValueError("not a WAV file")
    resampler = PcmResampler(parser.header)
    return resampler.feed(samples) + resampler.flush()


@dataclass(frozen=True)
class WavHeader:
    sample_rate: int
    channels: int
    sample_width: int
    size: int
    """Bytes of header before the samples."""

    @property
    def bytes_per_second(self) -> int:
        return self.sample_rate * self.channels * self.sample_width


class WavStream:
    """Splits a progressively received PCM WAV into its header and its samples."""

    def __init__(self) -> None:
        self._buffer = b""
        self.header: WavHeader | None = None
        self.header_bytes = b""

    def feed(self, chunk: bytes) -> bytes:
        """The sample bytes `chunk` completes (b"" while the header is still incomplete)."""
        if self.header is not None:
            return chunk
        self._buffer += chunk
        header = _parse_header(self._buffer)
        if header is None:
            if len(self._buffer) > _MAX_HEADER_BYTES:
                raise ValueError("no WAV data chunk in the first 64 KiB")
            return b""
        self.header, self.header_bytes = header, self._buffer[: header.size]
        samples, self._buffer = self._buffer[header.size :], b""
        return samples


def _parse_header(data: bytes) -> WavHeader | None:
    """The PCM header at the start of `data` once it has reached the `data` chunk, else None."""
    if len(data) < 12:
        return None
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a RIFF/WAVE stream")
    offset, fmt = 12, None
    while len(data) >= offset + 8:
        kind, size = data[offset : offset + 4], struct.unpack("<I", data[offset + 4 : offset + 8])[0]
        if kind == b"data":
            if fmt is None:
                raise ValueError("WAV data before its fmt chunk")
            tag, channels, rate, _, _, bits = fmt
            if tag not in (1, 0xFFFE) or bits != 16:
                raise ValueError(f"WAV format {tag} with {bits}-bit samples; expected 16-bit PCM")
            return WavHeader(sample_rate=rate, channels=channels, sample_width=bits // 8, size=offset + 8)
        if len(data) < offset + 8 + size:
            return None
        if kind == b"fmt ":
            fmt = struct.unpack("<HHIIHH", data[offset + 8 : offset + 24])
        offset += 8 + size + (size & 1)
    return None


class PcmResampler:
    """16-bit PCM at the source's rate and channels in, OpenAI's `pcm` (24 kHz 16-bit mono) out, chunk by chunk."""

    def __init__(self, header: WavHeader) -> None:
        self._header = header
        self._layout = "mono" if header.channels == 1 else "stereo"
        self._frame_bytes = header.channels * header.sample_width
        self._carry = b""
        self._resampler = av.AudioResampler(format="s16", layout="mono", rate=PCM_RATE)

    def feed(self, samples: bytes) -> bytes:
        data = self._carry + samples
        usable = len(data) - len(data) % self._frame_bytes
        self._carry = data[usable:]
        if not usable:
            return b""
        frame = av.AudioFrame(format="s16", layout=self._layout, samples=usable // self._frame_bytes)
        frame.planes[0].update(data[:usable])
        frame.sample_rate = self._header.sample_rate
        return self._drain(self._resampler.resample(frame))

    def flush(self) -> bytes:
        return self._drain(self._resampler.resample(None))

    @staticmethod
    def _drain(frames: list[av.AudioFrame]) -> bytes:
        # A plane's buffer is padded past its samples: keep only the samples.
        return b"".join(bytes(frame.planes[0])[: frame.samples * PCM_WIDTH] for frame in frames)


def wav_of(samples: bytes, sample_rate: int, channels: int = 1, sample_width: int = PCM_WIDTH) -> bytes:
    """A WAV file of raw little-endian PCM `samples`."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(sample_width)
        out.setframerate(sample_rate)
        out.writeframes(samples)
    return buffer.getvalue()
