"""Per-user rate-limit caps, one per capability, in `limits` notation (e.g. "60/minute").

Every user shares one upstream Resemble key, so the caps keep any single user from starving the others:

=============  ===========  ==========================================================================
capability     default      why
=============  ===========  ==========================================================================
tts            60/minute    the hot path; roughly one synthesis a second per user
uploads        30/minute    dataset/recording uploads are large and slow upstream
stt            30/minute    transcription jobs are long-running upstream
enhance        20/minute    audio enhancement is a heavy batch job
edit           20/minute    speech-to-speech / audio edit is a heavy job
detect         30/minute    deepfake detection submits audio for analysis
intelligence   30/minute    audio intelligence analyses
tracing        30/minute    source tracing analyses
watermark      30/minute    apply / detect watermark jobs
identity       30/minute    speaker identity enrolment and verification
voices         120/minute   cheap CRUD (list, get, update, delete)
voice_design   10/minute    each call generates several candidate voices: the most expensive call
projects       120/minute   cheap CRUD
agents         120/minute   cheap CRUD
=============  ===========  ==========================================================================

Operators override any of them with `RESEMBLE_RATE_LIMITS`, e.g. `{"tts": "5/minute"}`.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from limits import RateLimitItem, parse_many


class Capability(StrEnum):
    TTS = "tts"
    UPLOADS = "uploads"
    STT = "stt"
    ENHANCE = "enhance"
    EDIT = "edit"
    DETECT = "detect"
    INTELLIGENCE = "intelligence"
    TRACING = "tracing"
    WATERMARK = "watermark"
    IDENTITY = "identity"
    VOICES = "voices"
    VOICE_DESIGN = "voice_design"
    PROJECTS = "projects"
    AGENTS = "agents"


DEFAULT_CAPS: Final[Mapping[Capability, str]] = MappingProxyType(
    {
        Capability.TTS: "60/minute",
        Capability.UPLOADS: "30/minute",
        Capability.STT: "30/minute",
        Capability.ENHANCE: "20/minute",
        Capability.EDIT: "20/minute",
        Capability.DETECT: "30/minute",
        Capability.INTELLIGENCE: "30/minute",
        Capability.TRACING: "30/minute",
        Capability.WATERMARK: "30/minute",
        Capability.IDENTITY: "30/minute",
        Capability.VOICES: "120/minute",
        Capability.VOICE_DESIGN: "10/minute",
        Capability.PROJECTS: "120/minute",
        Capability.AGENTS: "120/minute",
    }
)


def parse_cap(name: str, notation: str) -> RateLimitItem:
    """Parse one cap; the error names the capability so a bad setting is easy to find."""
    try:
        items = parse_many(notation)
    except ValueError:
        raise ValueError(
            f"rate limit for {name!r} is not valid `limits` notation: {notation!r} (e.g. '60/minute')"
        ) from None
    if len(items) != 1:
        raise ValueError(f"rate limit for {name!r} must be a single limit, got {notation!r}")
    if items[0].amount < 1:
        raise ValueError(f"rate limit for {name!r} must allow at least one request, got {notation!r}")
    return items[0]


def resolve_caps(overrides: Mapping[str, str]) -> dict[Capability, RateLimitItem]:
    """The default table with `overrides` applied; raises ValueError naming an unknown or unparsable key."""
    known = {c.value for c in Capability}
    for name in overrides:
        if name not in known:
            raise ValueError(f"unknown capability {name!r} in rate limits; known: {', '.join(sorted(known))}")
    merged = {**{c.value: v for c, v in DEFAULT_CAPS.items()}, **overrides}
    return {Capability(name): parse_cap(name, notation) for name, notation in merged.items()}
