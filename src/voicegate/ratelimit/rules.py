"""Per-user rate-limit caps: one row per tier, one cap per capability, in `limits` notation (e.g. "60/minute").

Every user shares one upstream Resemble key, so the caps keep any single user from starving the others. A
user's tier (`users.tier`, `free` unless an admin says otherwise) picks the row; `paid` allows five times the
`free` rate on every capability (three times on voice design, whose every call generates several voices):

=============  ===========  ===========  ==============================================================
capability     free         paid         why
=============  ===========  ===========  ==============================================================
tts            60/minute    300/minute   the hot path; roughly one synthesis a second per free user
uploads        30/minute    150/minute   dataset/recording uploads are large and slow upstream
stt            30/minute    150/minute   transcription jobs are long-running upstream
enhance        20/minute    100/minute   audio enhancement is a heavy batch job
edit           20/minute    100/minute   speech-to-speech / audio edit is a heavy job
detect         30/minute    150/minute   deepfake detection submits audio for analysis
intelligence   30/minute    150/minute   audio intelligence analyses
tracing        30/minute    150/minute   source tracing analyses
watermark      30/minute    150/minute   apply / detect watermark jobs
identity       30/minute    150/minute   speaker identity enrolment and verification
voices         120/minute   600/minute   cheap CRUD (list, get, update, delete)
voice_design   10/minute    30/minute    each call generates several candidate voices: the most expensive call
projects       120/minute   600/minute   cheap CRUD
agents         120/minute   600/minute   cheap CRUD
=============  ===========  ===========  ==============================================================

Operators override caps with `RESEMBLE_RATE_LIMITS`, a JSON object in one of two forms, which may be mixed:

- flat, `{"tts": "5/minute"}`: the cap for that capability in every tier;
- tiered, `{"free": {"tts": "10/minute"}, "paid": {"tts": "100/minute"}}`: the cap in that tier only, applied
  after the flat entries.
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


class Tier(StrEnum):
    FREE = "free"
    PAID = "paid"


DEFAULT_TIER: Final = Tier.FREE

CapTable = Mapping[Tier, Mapping[Capability, RateLimitItem]]
Overrides = Mapping[str, "str | Mapping[str, str]"]

DEFAULT_CAPS: Final[Mapping[Tier, Mapping[Capability, str]]] = MappingProxyType(
    {
        Tier.FREE: MappingProxyType(
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
        ),
        Tier.PAID: MappingProxyType(
            {
                Capability.TTS: "300/minute",
                Capability.UPLOADS: "150/minute",
                Capability.STT: "150/minute",
                Capability.ENHANCE: "100/minute",
                Capability.EDIT: "100/minute",
                Capability.DETECT: "150/minute",
                Capability.INTELLIGENCE: "150/minute",
                Capability.TRACING: "150/minute",
                Capability.WATERMARK: "150/minute",
                Capability.IDENTITY: "150/minute",
                Capability.VOICES: "600/minute",
                Capability.VOICE_DESIGN: "30/minute",
                Capability.PROJECTS: "600/minute",
                Capability.AGENTS: "600/minute",
            }
        ),
    }
)

_CAPABILITIES = frozenset(c.value for c in Capability)
_TIERS = frozenset(t.value for t in Tier)


def tier_of(value: str) -> Tier:
    """The tier a stored `users.tier` names; anything unrecognised gets the most restrictive row, `free`."""
    return Tier(value) if value in _TIERS else DEFAULT_TIER


def parse_cap(name: str, notation: object) -> RateLimitItem:
    """Parse one cap; the error names the capability (and tier) so a bad setting is easy to find."""
    if not isinstance(notation, str):
        raise ValueError(f"rate limit for {name!r} must be a string in `limits` notation, got {notation!r}")
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


def resolve_caps(overrides: Overrides) -> dict[Tier, dict[Capability, RateLimitItem]]:
    """The default table with `overrides` applied (flat entries in every tier, then tiered ones).

    Raises ValueError naming an unknown tier or capability, or the capability whose notation does not parse.
    """
    table = {tier: {c.value: n for c, n in caps.items()} for tier, caps in DEFAULT_CAPS.items()}
    tiered: dict[Tier, Mapping[str, str]] = {}
    for name, value in overrides.items():
        if isinstance(value, Mapping):
            if name not in _TIERS:
                raise ValueError(f"unknown tier {name!r} in rate limits; known: {', '.join(sorted(_TIERS))}")
            tiered[Tier(name)] = value
        elif name in _CAPABILITIES:
            for row in table.values():
                row[name] = value
        elif name in _TIERS:
            example = f"{{{name!r}: {{'tts': '10/minute'}}}}"
            raise ValueError(f"rate limits for tier {name!r} must be an object, e.g. {example}")
        else:
            raise ValueError(f"unknown capability {name!r} in rate limits; known: {', '.join(sorted(_CAPABILITIES))}")
    for tier, chosen in tiered.items():
        for name, notation in chosen.items():
            if name not in _CAPABILITIES:
                raise ValueError(
                    f"unknown capability {name!r} in rate limits for tier {tier.value!r}; "
                    f"known: {', '.join(sorted(_CAPABILITIES))}"
                )
            table[tier][name] = notation
    return {
        tier: {Capability(name): parse_cap(_label(tier, name, overrides), n) for name, n in caps.items()}
        for tier, caps in table.items()
    }


def _label(tier: Tier, name: str, overrides: Overrides) -> str:
    """How an error names a cap: `free.tts` when the tiered form set it, `tts` otherwise."""
    tiered = overrides.get(tier.value)
    return f"{tier.value}.{name}" if isinstance(tiered, Mapping) and name in tiered else name
