"""When a call to Resemble may be tried again, and how long to wait first."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

# These prove the request never reached Resemble, so even a billed POST can be sent again.
NEVER_SENT: tuple[type[httpx.TransportError], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries: at most `max_retries` more attempts and `max_total_wait_s` of sleeping per call.

    Idempotent calls retry on any transport error (timeouts included), 5xx and 429. Other calls retry only on
    429 and on errors in `NEVER_SENT`. `Retry-After` wins over the exponential backoff; a hint that would blow
    the wait budget ends the retries at once rather than sleeping part of it.
    """

    max_retries: int = 2
    max_total_wait_s: float = 10.0
    backoff_base_s: float = 0.25
    backoff_cap_s: float = 2.0
    rng: Callable[[], float] = field(default=random.random)

    def delay_after_error(
        self, exc: httpx.TransportError, *, idempotent: bool, attempt: int, waited_s: float
    ) -> float | None:
        if not (idempotent or isinstance(exc, NEVER_SENT)):
            return None
        return self._within_budget(self.backoff(attempt), attempt, waited_s)

    def delay_after_response(
        self, response: httpx.Response, *, idempotent: bool, attempt: int, waited_s: float
    ) -> float | None:
        status = response.status_code
        if status != 429 and not (idempotent and status >= 500):
            return None
        hinted = retry_after_seconds(response.headers)
        delay = hinted if hinted is not None else self.backoff(attempt)
        return self._within_budget(delay, attempt, waited_s)

    def backoff(self, attempt: int) -> float:
        """Exponential with "equal jitter": half of each step fixed, half random, so retries spread out but
        never bunch at zero."""
        step = min(self.backoff_cap_s, self.backoff_base_s * 2**attempt)
        return step / 2 + self.rng() * step / 2

    def _within_budget(self, delay: float, attempt: int, waited_s: float) -> float | None:
        if attempt >= self.max_retries or waited_s + delay > self.max_total_wait_s:
            return None
        return delay


def retry_after_seconds(headers: httpx.Headers, *, now: datetime | None = None) -> float | None:
    """`Retry-After` as seconds from now (delta-seconds or HTTP-date form); None when absent or unreadable."""
    value = headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None
