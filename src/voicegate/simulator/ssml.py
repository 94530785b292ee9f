"""Just enough SSML for realistic durations: tags are stripped, `<prosody rate>` scales the time its text takes,
and `<break>` adds its pause. Text is SSML when it holds an SSML element (`<speak>`, `<prosody>`, `<break>`, ...),
with or without the `<speak>` root; anything else (e.g. "a <b> c") is taken verbatim."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

_MARKUP = re.compile(
    r"<!--.*?-->|<\?.*?\?>|<!\[CDATA\[(?P<cdata>.*?)\]\]>"
    r"|<(?P<close>/?)(?P<name>[A-Za-z][\w:.-]*)(?P<attrs>(?:\s[^<>]*?)?)(?P<empty>/?)>",
    re.DOTALL,
)
_ATTR = re.compile(r"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_NAMED_RATES = {"x-slow": 0.5, "slow": 0.75, "medium": 1.0, "default": 1.0, "fast": 1.25, "x-fast": 1.5}
_BREAK_STRENGTHS = {"none": 0.0, "x-weak": 0.1, "weak": 0.25, "medium": 0.5, "strong": 0.75, "x-strong": 1.0}
_SSML_ELEMENT = re.compile(
    r"<(?:speak|prosody|break|emphasis|say-as|sub|phoneme|p|s|voice|audio|lang|mark|lexicon|w|resemble:[\w-]+)[\s/>]",
    re.IGNORECASE,
)
_TIME = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class SpokenText:
    text: str  # what is spoken: tags removed, entities decoded, whitespace collapsed (SSML only)
    weighted_chars: float  # characters divided by the speaking rate that applies to them
    pause_s: float  # seconds of <break>

    def duration(self, seconds_per_char: float) -> float:
        return self.weighted_chars * seconds_per_char + self.pause_s


def _attrs(raw: str) -> dict[str, str]:
    return {m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3) for m in _ATTR.finditer(raw)}


def _rate(value: str, enclosing: float) -> float:
    """A prosody rate as a multiple of the normal speed; unusable values leave the enclosing rate."""
    value = value.strip().lower()
    if value in _NAMED_RATES:
        return _NAMED_RATES[value]
    try:
        if value.endswith("%"):
            number = float(value[:-1])
            # "+10%" / "-10%" are changes relative to the enclosing rate; "80%" is a rate of its own.
            rate = enclosing * (1 + number / 100) if value[0] in "+-" else number / 100
        else:
            rate = float(value)
    except ValueError:
        return enclosing
    return rate if rate > 0 else enclosing


def _pause(attrs: dict[str, str]) -> float:
    match = _TIME.match(attrs.get("time", ""))
    if match:
        number = float(match.group(1))
        return number / 1000 if match.group(2).lower() == "ms" else number
    return _BREAK_STRENGTHS.get(attrs.get("strength", "medium").strip().lower(), 0.5)


def parse(data: str) -> SpokenText:
    if _SSML_ELEMENT.search(data) is None:
        return SpokenText(data, float(len(data)), 0.0)
    pieces: list[tuple[str, float]] = []
    stack: list[tuple[str, float]] = []  # (open element name, rate inside it)
    pause = 0.0
    position = 0

    def rate() -> float:
        return stack[-1][1] if stack else 1.0

    for match in _MARKUP.finditer(data):
        pieces.append((html.unescape(data[position : match.start()]), rate()))
        position = match.end()
        if match.group("cdata") is not None:
            pieces.append((match.group("cdata"), rate()))
            continue
        name = match.group("name")
        if name is None:
            continue  # comment or processing instruction
        name = name.lower()
        if match.group("close"):
            while stack:
                if stack.pop()[0] == name:
                    break
            continue
        attrs = _attrs(match.group("attrs") or "")
        if name == "break":
            pause += _pause(attrs)
            pieces.append((" ", rate()))
            continue
        if match.group("empty"):
            continue
        inner = _rate(attrs["rate"], rate()) if name == "prosody" and "rate" in attrs else rate()
        stack.append((name, inner))
    pieces.append((html.unescape(data[position:]), rate()))

    words: list[tuple[str, float]] = []
    for text, piece_rate in pieces:
        words.extend((word, piece_rate) for word in text.split())
    spoken = " ".join(word for word, _ in words)
    # each word costs its characters plus the space before it, at the word's rate
    weighted = sum((len(word) + (1 if i else 0)) / word_rate for i, (word, word_rate) in enumerate(words))
    return SpokenText(spoken, weighted, pause)
