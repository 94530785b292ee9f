"""Per-user, per-capability sliding-window rate limits (seed decision Q8)."""

from voicegate.ratelimit.base import Decision, Limiter
from voicegate.ratelimit.factory import build_limiter
from voicegate.ratelimit.rules import DEFAULT_CAPS, Capability, resolve_caps

__all__ = ["DEFAULT_CAPS", "Capability", "Decision", "Limiter", "build_limiter", "resolve_caps"]
