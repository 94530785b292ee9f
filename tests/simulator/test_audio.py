from __future__ import annotations

import io
import struct
import warnings

import pytest
from mutagen.mp3 import MP3

from voicegate.simulator import audio

from .conftest import parse_wav, read_pcm_wav


def test_mulaw_matches_the_g711_reference_coder() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import audioop  # the stdlib's C implementation of the Sun/CCITT coder (Python 3.11 still has it)

    pcm = struct.pack("<65536h", *range(-32768, 32768))
    expected = audioop.lin2ulaw(pcm, 2)
    assert bytes(audio.linear_to_ulaw(s) for s in range(-32768, 32768)) == expected
    decoded = struct.unpack("<256h", audioop.ulaw2lin(bytes(range(256)), 2))
    assert [audio.ulaw_to_linear(code) for code in range(256)] == list(decoded)


def test_mulaw_known_codes() -> None:
    assert audio.linear_to_ulaw(0) == 0xFF
    assert audio.linear_to_ulaw(32767) == 0x80
    assert audio.linear_to_ulaw(-32768) == 0x00


@pytest.mark.parametrize(("precision", "bits"), [("PCM_16", 16), ("PCM_24", 24), ("PCM_32", 32)])
@pytest.mark.parametrize("rate", audio.SAMPLE_RATES)
def test_pcm_wav(precision: audio.Precision, bits: int, rate: int) -> None:
    rendered = audio.render(1.23, sample_rate=rate, precision=precision)
    with read_pcm_wav(rendered.data) as wav:
        assert wav.getframerate() == rate
        assert wav.getsampwidth() * 8 == bits
        assert wav.getnchannels() == 1
        assert wav.getnframes() / rate == pytest.approx(rendered.duration, abs=1 / rate)
        frames = wav.readframes(wav.getnframes())
    assert rendered.duration == pytest.approx(1.23, abs=1 / rate)
    width = bits // 8
    samples = [int.from_bytes(frames[i : i + width], "little", signed=True) for i in range(0, 4000 * width, width)]
    peak = max(abs(s) for s in samples) / 2 ** (bits - 1)
    assert 0.05 < peak < 0.2  # quiet, but not silence


@pytest.mark.parametrize("rate", audio.SAMPLE_RATES)
def test_mulaw_wav(rate: int) -> None:
    rendered = audio.render(0.77, sample_rate=rate, precision="MULAW")
    info = parse_wav(rendered.data)
    assert (info.format_tag, info.channels, info.sample_rate, info.bits_per_sample) == (7, 1, rate, 8)
    assert info.duration == pytest.approx(rendered.duration)
    decoded = [audio.ulaw_to_linear(code) for code in info.data[:4000]]
    assert 0.05 < max(abs(s) for s in decoded) / 32768 < 0.2


@pytest.mark.parametrize("rate", audio.SAMPLE_RATES)
@pytest.mark.parametrize("seconds", [0.5, 1.37, 4.2, 33.3])
def test_mp3_duration_matches(rate: int, seconds: float) -> None:
    rendered = audio.render(seconds, sample_rate=rate, output_format="mp3")
    info = MP3(io.BytesIO(rendered.data)).info
    assert info.sample_rate == rate
    assert info.channels == 1
    assert info.length == pytest.approx(rendered.duration, abs=0.05)


def test_rendering_is_deterministic() -> None:
    first = audio.render(2.0, sample_rate=22050, precision="PCM_24", tone_hz=180.0)
    assert first == audio.render(2.0, sample_rate=22050, precision="PCM_24", tone_hz=180.0)
    assert first != audio.render(2.0, sample_rate=22050, precision="PCM_24", tone_hz=200.0)
