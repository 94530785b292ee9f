"""A completed Resemble transcript in the shapes transcription clients read: OpenAI's `verbose_json` (segments and
words), SubRip (`srt`) and WebVTT (`vtt`).

Resemble reports words with `start_time`/`end_time` in seconds and a `speaker_id`; it has no segments, so a
segment is a run of words of one speaker, closed at a sentence end, a pause longer than `PAUSE_S`, or after
`MAX_SEGMENT_WORDS` words. Every timestamp comes from Resemble's words; none is invented.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

PAUSE_S: Final = 1.0
MAX_SEGMENT_WORDS: Final = 12
_SENTENCE_ENDS: Final = (".", "?", "!")


@dataclass(frozen=True)
class Word:
    word: str
    start: float
    end: float
    speaker: str | None


@dataclass(frozen=True)
class Segment:
    id: int
    start: float
    end: float
    text: str
    speaker: str | None


def _seconds(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 and seconds == seconds and seconds != float("inf") else None


def words_of(item: dict[str, Any]) -> list[Word]:
    """Resemble's timed words, in order; entries without text or a usable start and end are skipped."""
    words: list[Word] = []
    for raw in item.get("words") or ():
        if not isinstance(raw, dict):
            continue
        text = str(raw.get("text") or raw.get("word") or "").strip()
        start, end = _seconds(raw.get("start_time")), _seconds(raw.get("end_time"))
        if not text or start is None or end is None:
            continue
        speaker = raw.get("speaker_id")
        words.append(Word(text, start, max(start, end), str(speaker) if speaker is not None else None))
    return words


def text_of(item: dict[str, Any]) -> str:
    text = item.get("text")
    if isinstance(text, str):
        return text.strip()
    return " ".join(word.word for word in words_of(item))


def duration_of(item: dict[str, Any]) -> float | None:
    return _seconds(item.get("duration_seconds"))


def segments_of(item: dict[str, Any]) -> list[Segment]:
    words = words_of(item)
    if not words:
        text, duration = text_of(item), duration_of(item)
        return [Segment(0, 0.0, duration or 0.0, text, None)] if text else []
    segments: list[Segment] = []
    run: list[Word] = []

    def close() -> None:
        if run:
            text = " ".join(word.word for word in run)
            segments.append(Segment(len(segments), run[0].start, run[-1].end, text, run[0].speaker))
            run.clear()

    for word in words:
        if run and (
            word.speaker != run[-1].speaker
            or word.start - run[-1].end > PAUSE_S
            or len(run) >= MAX_SEGMENT_WORDS
            or run[-1].word.endswith(_SENTENCE_ENDS)
        ):
            close()
        run.append(word)
    close()
    return segments


def timestamp(seconds: float, separator: str) -> str:
    """`HH:MM:SS,mmm` (SubRip, separator ",") or `HH:MM:SS.mmm` (WebVTT, separator ".")."""
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def to_srt(segments: list[Segment]) -> str:
    blocks = [
        f"{n}\n{timestamp(s.start, ',')} --> {timestamp(s.end, ',')}\n{s.text}\n"
        for n, s in enumerate(segments, start=1)
    ]
    return "\n".join(blocks)


def to_vtt(segments: list[Segment]) -> str:
    blocks = [f"{timestamp(s.start, '.')} --> {timestamp(s.end, '.')}\n{s.text}\n" for s in segments]
    return "\n".join(["WEBVTT\n", *blocks])


def subtitles(item: dict[str, Any], fmt: str) -> str:
    segments = segments_of(item)
    return to_srt(segments) if fmt == "srt" else to_vtt(segments)


def verbose(
    item: dict[str, Any], *, language: str | None, temperature: float | None, granularities: frozenset[str]
) -> dict[str, Any]:
    """OpenAI's `verbose_json`: segments unless only words were asked for, words when they were asked for.

    Resemble does not name the language it heard; `language` is the caller's hint when given, else "unknown"."""
    body: dict[str, Any] = {
        "task": "transcribe",
        "language": item.get("language") or language or "unknown",
        "duration": duration_of(item) or 0.0,
        "text": text_of(item),
    }
    if not granularities or "segment" in granularities:
        body["segments"] = [
            {
                "id": s.id,
                "seek": 0,
                "start": s.start,
                "end": s.end,
                "text": s.text,
                "tokens": [],
                "temperature": temperature or 0.0,
                "speaker": s.speaker,
            }
            for s in segments_of(item)
        ]
    if "word" in granularities:
        body["words"] = [{"word": w.word, "start": w.start, "end": w.end} for w in words_of(item)]
    return body
