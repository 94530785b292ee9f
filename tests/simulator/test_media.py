from __future__ import annotations

import io
import wave

import pytest

from voicegate.simulator import media, ssml
from voicegate.simulator.audio import render

from . import media_samples
from .conftest import parse_wav, wav_bytes


@pytest.mark.parametrize(
    ("precision", "rate"), [("PCM_16", 16000), ("PCM_24", 22050), ("PCM_32", 48000), ("MULAW", 8000)]
)
def test_wav_durations(precision: str, rate: int) -> None:
    info = media.probe(render(2.345, sample_rate=rate, precision=precision).data)  # type: ignore[arg-type]
    assert (info.media_type, info.container, info.sample_rate, info.channels) == ("audio", "wav", rate, 1)
    assert info.duration == pytest.approx(2.345, abs=1 / rate)


def test_mp3_duration() -> None:
    info = media.probe(render(3.3, sample_rate=22050, output_format="mp3").data)
    assert (info.media_type, info.container, info.sample_rate) == ("audio", "mp3", 22050)
    assert info.duration == pytest.approx(3.3, abs=0.1)


def test_flac_and_ogg_durations() -> None:
    flac = media.probe(media_samples.flac(4.5, rate=44100))
    assert (flac.media_type, flac.container, flac.sample_rate, flac.channels) == ("audio", "flac", 44100, 2)
    assert flac.duration == pytest.approx(4.5)
    ogg = media.probe(media_samples.ogg_opus(2.5))
    assert (ogg.media_type, ogg.container) == ("audio", "ogg")
    assert ogg.duration == pytest.approx(2.5, abs=0.01)


@pytest.mark.parametrize("version", [0, 1])
def test_mp4_video_and_m4a_audio(version: int) -> None:
    video = media.probe(media_samples.mp4(7.25, version=version))
    assert (video.media_type, video.container, video.duration) == ("video", "mp4", pytest.approx(7.25))
    m4a = media.probe(media_samples.mp4(1.5, brand=b"M4A ", handler=None, version=version))
    assert (m4a.media_type, m4a.container, m4a.duration) == ("audio", "m4a", pytest.approx(1.5))
    assert m4a.extension == "m4a"


def test_webm() -> None:
    video = media.probe(media_samples.webm(3.75))
    assert (video.media_type, video.container, video.duration) == ("video", "webm", pytest.approx(3.75))
    assert media.probe(media_samples.webm(1.0, track_type=2)).media_type == "audio"


def test_images() -> None:
    png = media.probe(media.png_image(8, 4))
    assert (png.media_type, png.container, png.duration, png.content_type) == ("image", "png", None, "image/png")
    jpeg = media.probe(media_samples.JPEG)
    assert (jpeg.media_type, jpeg.extension, jpeg.content_type) == ("image", "jpg", "image/jpeg")


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        b"hello world",
        b"RIFF\x00\x00\x00\x00WAVE",
        b"OggS" + bytes(40),
        b"fLaC" + bytes(10),
        b"\x00\x00\x00\x10ftypisom",
    ],
)
def test_unreadable_media(blob: bytes) -> None:
    with pytest.raises(media.MediaError):
        media.probe(blob)


def test_output_wav_has_duration_and_rate() -> None:
    info = media.probe(wav_bytes(1.25, rate=22050))
    out = media.render_wav(info.duration or 0, media.output_sample_rate(info))
    with wave.open(io.BytesIO(out), "rb") as wav:
        assert wav.getframerate() == 22050
        assert wav.getnframes() / 22050 == pytest.approx(1.25, abs=1e-3)
    assert media.output_sample_rate(None) == 44100
    assert media.output_sample_rate(media.MediaInfo("audio", "wav", 1.0, 96000)) == 48000


def test_watermarked_files_stay_valid() -> None:
    marked = media.watermark_wav(wav_bytes(0.5), "resembleai")
    assert media.has_watermark(marked)
    assert not media.has_watermark(wav_bytes(0.5))
    with wave.open(io.BytesIO(marked), "rb") as wav:
        assert wav.getnframes() == 8000
    assert parse_wav(marked).frames == 8000  # the RIFF size is consistent
    png = media.watermark_png(media.png_image(), "hello")
    assert media.probe(png).media_type == "image"
    assert media.watermark_payload("hello") in png
    assert media.watermark_jpeg(media_samples.JPEG, "x").startswith(b"\xff\xd8\xff\xfe")
    video = media.watermark_video(media_samples.mp4(2.0), "mp4", "x")
    assert media.probe(video).duration == pytest.approx(2.0)
    assert media.has_watermark(video)
    clip = media.watermark_video(media_samples.webm(2.0), "webm", "x")
    assert media.probe(clip).duration == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("text", "spoken", "weighted", "pause"),
    [
        ("Hello <there>", "Hello <there>", 13, 0),  # not markup: taken verbatim
        ("a <b> c", "a <b> c", 7, 0),
        ("<speak>Hello  world</speak>", "Hello world", 11, 0),
        ('<prosody rate="80%">Hello</prosody>', "Hello", 6.25, 0),
        ('<speak><prosody rate="50%">Hello world</prosody></speak>', "Hello world", 22, 0),
        ("<speak><prosody rate='200%'>abcd</prosody> efgh</speak>", "abcd efgh", 2 + 5, 0),
        ('<speak><prosody rate="x-slow">ab</prosody></speak>', "ab", 4, 0),
        ('<speak><prosody rate="+100%">abcd</prosody></speak>', "abcd", 2, 0),
        ('<speak><prosody rate="bogus">abcd</prosody></speak>', "abcd", 4, 0),
        ('<speak>a<break time="500ms"/>b<break time="1.5s"/>c<break/></speak>', "a b c", 5, 2.5),
        ("<speak>Fish &amp; chips<!-- note --></speak>", "Fish & chips", 12, 0),
        ('<?xml version="1.0"?><speak><p><s>One.</s><s>Two.</s></p></speak>', "One. Two.", 9, 0),
    ],
)
def test_ssml(text: str, spoken: str, weighted: float, pause: float) -> None:
    parsed = ssml.parse(text)
    assert parsed.text == spoken
    assert parsed.weighted_chars == pytest.approx(weighted)
    assert parsed.pause_s == pytest.approx(pause)
