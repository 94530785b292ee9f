"""A small asyncio circuit breaker shared by every call the gateway makes to Resemble."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from enum import StrEnum

from voicegate.errors import GatewayError, UpstreamUnavailable
from voicegate.metrics import breaker_rejections, breaker_state

log = logging.getLogger("voicegate.upstream")


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


# The value of the voicegate_upstream_breaker_state gauge: higher is worse, so workers combine by max.
STATE_LEVEL = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}


class CircuitBreaker:
    """Closed -> open after `failure_threshold` consecutive failures -> half-open after `reset_timeout_s`.

    Half-open admits exactly one probe call; everyone else is refused until it ends. A probe that fails
    re-opens the circuit for another `reset_timeout_s`; one that gets any answer from upstream (even a 4xx)
    closes it. Only exceptions for which `is_failure` is true count; other `GatewayError`s prove upstream is
    answering and reset the count; anything else (cancellation, our own bugs) leaves it alone. While open,
    calls fail fast with `UpstreamUnavailable` (503, `Retry-After` = seconds until the next probe).

    All state changes happen without an `await` in between, so no lock is needed on one event loop.
    """

    def __init__(
        self,
        failure_threshold: int,
        reset_timeout_s: float,
        *,
        is_failure: Callable[[BaseException], bool],
        clock: Callable[[], float] = time.monotonic,
        publishes: bool = True,
    ) -> None:
        """`publishes=False` keeps this breaker off the process's breaker gauge (a user's own key's breaker: their
        account failing says nothing about the shared one)."""
        if failure_threshold < 1 or reset_timeout_s <= 0:
            raise ValueError("failure_threshold must be >= 1 and reset_timeout_s > 0")
        self.failure_threshold = failure_threshold
        self.reset_timeout_s = reset_timeout_s
        self._is_failure = is_failure
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False
        self._publishes = publishes

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._probing or self._clock() >= self._opened_at + self.reset_timeout_s:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def publish_state(self) -> BreakerState:
        """Set the breaker gauge to the state now. Called on every change and at each scrape, since the move from
        open to half-open is the clock's doing, not an event's."""
        state = self.state
        if self._publishes:
            breaker_state.set(STATE_LEVEL[state])
        return state

    @asynccontextmanager
    async def guard(self) -> AsyncIterator[None]:
        """Wrap one logical upstream call (retries included)."""
        probe = self._admit()
        try:
            yield
        except BaseException as exc:
            if self._is_failure(exc):
                self._on_failure(probe)
            elif isinstance(exc, GatewayError):
                self._on_success(probe)
            elif probe:
                self._probing = False  # no verdict: the next caller may probe
            raise
        else:
            self._on_success(probe)

    def _admit(self) -> bool:
        state = self.state
        if state is BreakerState.CLOSED:
            return False
        if state is BreakerState.HALF_OPEN and not self._probing:
            self._probing = True
            self.publish_state()
            return True
        breaker_rejections.inc()
        raise UpstreamUnavailable(retry_after_s=self._seconds_until_probe())

    def _seconds_until_probe(self) -> int:
        if self._probing or self._opened_at is None:
            return 1
        return max(1, math.ceil(self._opened_at + self.reset_timeout_s - self._clock()))

    def _on_failure(self, probe: bool) -> None:
        if not probe and self._opened_at is not None:
            return  # a call admitted before the circuit opened: its verdict is stale
        self._probing = False
        self._failures += 1
        if probe or self._failures >= self.failure_threshold:
            self._opened_at = self._clock()
            self.publish_state()
            log.warning("circuit_opened failures=%d reset_timeout_s=%s", self._failures, self.reset_timeout_s)

    def _on_success(self, probe: bool) -> None:
        if not probe and self._opened_at is not None:
            return
        self._failures = 0
        if probe:
            self._probing = False
            self._opened_at = None
            self.publish_state()
            log.info("circuit_closed")
