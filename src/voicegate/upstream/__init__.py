"""The gateway's only way to reach Resemble: `ResembleClient` plus the errors it raises."""

from voicegate.upstream.breaker import BreakerState, CircuitBreaker
from voicegate.upstream.client import ResembleClient, build_http_client
from voicegate.upstream.errors import MediaTooLarge, UpstreamFault, UpstreamThrottled

__all__ = [
    "BreakerState",
    "CircuitBreaker",
    "MediaTooLarge",
    "ResembleClient",
    "UpstreamFault",
    "UpstreamThrottled",
    "build_http_client",
]
