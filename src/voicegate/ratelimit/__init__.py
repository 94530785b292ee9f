"""Per-user, per-capability sliding-window rate limits, capped by the user's tier (seed decision Q8)."""

from voicegate.ratelimit.base import Decision, Limiter
from voicegate.ratelimit.factory import build_limiter
from voicegate.ratelimit.rules import DEFAULT_CAPS, DEFAULT_TIER, Capability, Tier, resolve_caps

__all__ = [
    "DEFAULT_CAPS",
    "DEFAULT_TIER",
    "Capability",
    "Decision",
    "Limiter",
    "Tier",
    "build_limiter",
    "resolve_caps",
]
