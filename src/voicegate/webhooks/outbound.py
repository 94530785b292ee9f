"""One signed POST to a user's callback URL, and the retry schedule. No database here (see `service`)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

import httpx

from voicegate import __version__
from voicegate.kit.netguard import FetchFailed, FetchTooLarge, UnsafeUrl, guarded_request
from voicegate.kit.tls import verified_context
from voicegate.webhooks.signing import signed_headers

SEND_TIMEOUT_S = 10.0
RESPONSE_BODY_CAP = 4096  # read (and discard) at most this much of a receiver's answer
USER_AGENT = f"voicegate-webhooks/{__version__}"

# Delay before the next attempt after the n-th failed one (n = 1, 2, ...); the last entry repeats.
BACKOFF_SCHEDULE: tuple[timedelta, ...] = (
    timedelta(seconds=10),
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=3),
    timedelta(hours=6),
)
JITTER = 0.1  # each delay is scaled by a random factor in [1 - JITTER, 1 + JITTER]


@dataclass(frozen=True)
class AttemptResult:
    status_code: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def backoff_delay(failed_attempts: int, rng: random.Random | None = None) -> timedelta:
    """How long to wait after `failed_attempts` failures (>= 1), jittered so retries of many hooks spread out."""
    base = BACKOFF_SCHEDULE[min(max(failed_attempts, 1), len(BACKOFF_SCHEDULE)) - 1]
    factor = (rng or random).uniform(1 - JITTER, 1 + JITTER)
    return base * factor


def build_client() -> httpx.AsyncClient:
    """A pooled client for user callbacks: never the Resemble client, no env proxies, no automatic redirects."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(SEND_TIMEOUT_S, connect=5.0),
        follow_redirects=False,
        trust_env=False,
        verify=verified_context(trust_env=False),
        headers={"user-agent": USER_AGENT},
        limits=httpx.Limits(max_connections=50, max_keepalive_connections=10),
    )


async def send(
    http: httpx.AsyncClient,
    url: str,
    *,
    secret: str,
    msg_id: str,
    timestamp: int,
    body: bytes,
    allow_private: bool,
    timeout_s: float = SEND_TIMEOUT_S,
) -> AttemptResult:
    """POST `body` signed for the receiver; never raises for a receiver-side problem, it reports it instead.

    Redirects are not followed (a 3xx is a failed attempt), as Standard Webhooks senders commonly do.
    """
    headers = {"content-type": "application/json", **signed_headers(secret, msg_id, timestamp, body)}
    try:
        response, _ = await guarded_request(
            http,
            "POST",
            url,
            allow_private=allow_private,
            max_bytes=RESPONSE_BODY_CAP,
            truncate=True,
            timeout_s=timeout_s,
            max_redirects=0,
            raise_for_status=False,
            field="callback_uri",
            content=body,
            headers=headers,
        )
    except (UnsafeUrl, FetchFailed, FetchTooLarge) as exc:
        return AttemptResult(status_code=None, error=exc.detail[:500])
    if 200 <= response.status_code < 300:
        return AttemptResult(status_code=response.status_code, error=None)
    return AttemptResult(status_code=response.status_code, error=f"receiver answered HTTP {response.status_code}")
