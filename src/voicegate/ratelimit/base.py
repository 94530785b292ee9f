"""The per-(user, capability) limiter: a true moving window from the `limits` library over an async store."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import MappingProxyType

from limits import RateLimitItem, WindowStats
from limits.aio.storage import RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError

from voicegate import metrics
from voicegate.errors import RateLimited
from voicegate.ratelimit.rules import DEFAULT_TIER, Capability, CapTable, Tier, tier_of

log = logging.getLogger("voicegate.ratelimit")

# What a failing store raises: storages are built with wrap_exceptions=True (client errors become
# StorageError); TimeoutError is our own deadline; OSError covers socket errors that escape the client.
STORE_ERRORS: tuple[type[BaseException], ...] = (StorageError, TimeoutError, OSError)

# Period of the clock that measures how long the event loop was responsive while checks wait (see `_tick`).
TICK_S = 0.05

# Reasons a check is let through, the `reason` label of voicegate_ratelimit_degraded_total.
STORE_ERROR, TIMEOUT, SKIPPED = "store_error", "timeout", "skipped"


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    retry_after_s: int
    reset_at: float
    """Unix time at which one more request fits in the window."""
    degraded: bool = False
    """True when the store failed and the request was let through unchecked."""


def describe(item: RateLimitItem) -> str:
    unit = item.GRANULARITY.name
    return f"{item.amount} per {item.multiples} {unit}{'s' if item.multiples > 1 else ''}"


class Limiter:
    """Sliding-window caps per (user_id, capability), the cap chosen by the caller's tier; degrades open if the
    store fails.

    The window is keyed by the cap as well (that is how `limits` names it), so a user whose tier changes starts a
    fresh window under the new cap.

    A slow answer is not a dead store: on a loaded machine a reply can wait long in the socket before the event
    loop reads it. So a check waits for the store as long as the store shows signs of life, up to `deadline_s` in
    all; a store that answered no check for `stall_s` (plus `stall_per_check_s` for every check in flight, the
    queue our own loop must work through before anyone can expect an answer) is taken as down. That silence is
    measured in time the event loop was responsive, so a starved process does not mistake itself for a dead
    store. After a store failure the next `store_retry_s` seconds of checks degrade open without touching the
    store. `store_label` names the store in log lines and must not contain credentials.
    """

    def __init__(
        self,
        storage: Storage,
        caps: CapTable,
        *,
        deadline_s: float = 0.5,
        stall_s: float | None = None,
        stall_per_check_s: float = 0.0,
        warn_every_s: float = 30.0,
        store_retry_s: float = 1.0,
        store_label: str = "memory",
        on_close: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        missing = [f"{t.value}.{c.value}" for t in Tier for c in Capability if c not in caps.get(t, {})]
        if missing:
            raise ValueError(f"no rate limit for: {', '.join(missing)}")
        self._strategy = MovingWindowRateLimiter(storage)
        self._caps = MappingProxyType({tier: MappingProxyType(dict(caps[tier])) for tier in Tier})
        self._deadline_s = deadline_s
        self._stall_s = deadline_s if stall_s is None else min(stall_s, deadline_s)
        self._stall_per_check_s = stall_per_check_s
        self._awake_s = 0.0
        self._last_answer_awake_s = -math.inf
        self._in_flight = 0
        self._ticker: asyncio.Task[None] | None = None
        self._warn_every_s = warn_every_s
        self._store_retry_s = store_retry_s
        self._skip_store_until = 0.0
        self._store_label = store_label
        self._on_close = on_close
        self._warned = False  # a degraded warning was logged and no recovery logged since
        self._last_warning_at: float | None = None
        self._unlogged_degraded = 0

    @property
    def caps(self) -> CapTable:
        return self._caps

    def cap(self, capability: Capability, tier: str = DEFAULT_TIER) -> RateLimitItem:
        """The cap on `capability` for a user of `tier` (an unknown tier gets the `free` row)."""
        return self._caps[tier_of(tier)][capability]

    @property
    def store_label(self) -> str:
        return self._store_label

    @property
    def store_kind(self) -> str:
        return "redis" if isinstance(self._strategy.storage, RedisStorage) else "memory"

    async def store_answers(self) -> bool:
        """Whether the store answers a health check right now (PING on Redis); never raises."""
        try:
            return await self._strategy.storage.check()
        except Exception:  # a failing store is the answer, not an error
            return False

    async def hit(
        self, user_id: str, capability: Capability, tier: str = DEFAULT_TIER, *, window: str | None = None
    ) -> Decision:
        """Count one request against the user's window for `capability` and say whether it may proceed; `window`
        names another window under the same cap (e.g. `tts:byok` for calls with the user's own key)."""
        item = self.cap(capability, tier)
        if time.monotonic() < self._skip_store_until:
            # The store just failed: skip it briefly so a hung Redis does not cost every request a timeout.
            self._note_degraded(SKIPPED, None)
            return self._degraded_decision(item)
        try:
            allowed, stats = await self._ask_store(item, (window or capability.value, user_id))
        except STORE_ERRORS as exc:
            self._skip_store_until = time.monotonic() + self._store_retry_s
            self._note_degraded(TIMEOUT if isinstance(exc, TimeoutError) else STORE_ERROR, exc)
            return self._degraded_decision(item)
        self._note_healthy()
        retry_after_s = 0 if allowed else max(1, math.ceil(stats.reset_time - time.time()))
        return Decision(
            allowed=allowed,
            limit=item.amount,
            remaining=max(0, stats.remaining),
            retry_after_s=retry_after_s,
            reset_at=stats.reset_time,
        )

    async def _ask_store(self, item: RateLimitItem, identifiers: tuple[str, str]) -> tuple[bool, WindowStats]:
        """Count the hit and read the window, within the stall and deadline rules (TimeoutError past them)."""

        async def ask() -> tuple[bool, WindowStats]:
            allowed = await self._strategy.hit(item, *identifiers)
            return allowed, await self._strategy.get_window_stats(item, *identifiers)

        started, started_awake = time.monotonic(), self._awake_s
        answer = asyncio.ensure_future(ask())
        self._in_flight += 1
        if self._ticker is None or self._ticker.done():
            self._ticker = asyncio.create_task(self._tick())
        try:
            while not answer.done():
                if time.monotonic() - started >= self._deadline_s:
                    raise TimeoutError(f"no answer within {self._deadline_s:g} s")
                quiet_s = self._awake_s - max(started_awake, self._last_answer_awake_s)
                stall_s = min(self._deadline_s, self._stall_s + self._in_flight * self._stall_per_check_s)
                if quiet_s >= stall_s:
                    raise TimeoutError(f"the store answered no check for {quiet_s:.2f} s")
                left = min(started + self._deadline_s - time.monotonic(), stall_s - quiet_s + TICK_S)
                await asyncio.wait({answer}, timeout=max(left, 0.0))
        finally:
            self._in_flight -= 1
            if not answer.done():
                answer.cancel()
                answer.add_done_callback(_drop_outcome)
        result = answer.result()
        self._last_answer_awake_s = self._awake_s
        return result

    async def _tick(self) -> None:
        """While checks are in flight, advance `_awake_s`: time during which this event loop was responsive.

        A tick that comes back late (the loop was busy, or the process starved of CPU) counts as at most two
        ticks, so a busy machine stretches the stall allowance instead of eating it."""
        last = time.monotonic()
        while self._in_flight:
            await asyncio.sleep(TICK_S)
            now = time.monotonic()
            self._awake_s += min(now - last, 2 * TICK_S)
            last = now

    async def check_or_raise(
        self, user_id: str, capability: Capability, tier: str = DEFAULT_TIER, *, window: str | None = None
    ) -> Decision:
        """Like `hit`, but a refused request raises `RateLimited` (429 with Retry-After)."""
        decision = await self.hit(user_id, capability, tier, window=window)
        if not decision.allowed:
            metrics.ratelimit_rejections.labels(capability=capability.value).inc()
            raise RateLimited(
                f"Rate limit exceeded for {capability.value}: {describe(self.cap(capability, tier))}; "
                f"retry in {decision.retry_after_s} s",
                decision.retry_after_s,
            )
        return decision

    async def close(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        if self._on_close is not None:
            on_close, self._on_close = self._on_close, None
            await on_close()

    @staticmethod
    def _degraded_decision(item: RateLimitItem) -> Decision:
        return Decision(
            allowed=True,
            limit=item.amount,
            remaining=item.amount,
            retry_after_s=0,
            reset_at=time.time(),
            degraded=True,
        )

    def _note_degraded(self, reason: str, exc: BaseException | None) -> None:
        metrics.ratelimit_degraded.labels(reason=reason).inc()
        now = time.monotonic()
        # One warning per `warn_every_s`, however many requests arrive; the metric still counts each one.
        throttled = self._last_warning_at is not None and now - self._last_warning_at < self._warn_every_s
        if exc is None or throttled:
            self._unlogged_degraded += 1
            return
        since = f" ({self._unlogged_degraded} more since the last warning)" if self._unlogged_degraded else ""
        log.warning(
            "rate-limit store %s unavailable (%s); letting requests through unchecked%s",
            self._store_label,
            _reason(exc),
            since,
        )
        self._last_warning_at = now
        self._unlogged_degraded = 0
        self._warned = True

    def _note_healthy(self) -> None:
        # The warning throttle survives recoveries so a flapping store cannot flood the log either.
        if self._warned:
            self._warned = False
            log.info("rate-limit store %s reachable again; limits enforced", self._store_label)


def _drop_outcome(task: asyncio.Future[tuple[bool, WindowStats]]) -> None:
    # An abandoned store call may still fail after its check gave up on it; that outcome is already accounted.
    with contextlib.suppress(BaseException):
        task.result()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, StorageError):
        exc = exc.storage_error
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
