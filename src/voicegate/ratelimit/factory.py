"""Build the process-wide limiter from settings: in-process memory by default, Redis when configured."""

from __future__ import annotations

import contextlib
from urllib.parse import urlsplit

import redis.asyncio
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.storage.redis.redispy import RedispyBridge
from redis.backoff import NoBackoff
from redis.retry import Retry

from voicegate.config import Settings
from voicegate.ratelimit.base import Limiter
from voicegate.ratelimit.rules import resolve_caps

DEFAULT_NAMESPACE = "voicegate"
# Sized for a loaded box (2 cores, two workers, a few hundred requests in flight) where Redis is fine and the
# worker is busy. A check is two round trips (count the hit, read the window). An idle Redis answers each in
# ~0.1 ms, but under load the reply sits in the socket until the event loop gets back to it: with ~100 runnable
# tasks at 1-5 ms of CPU each (serialising ~1 MB audio bodies) that is 0.1-0.5 s per round trip, so the former
# 0.25 s socket timeout and 0.5 s check deadline fired while Redis was healthy: fairness switched off exactly
# under load. Measured on such a box, one busy process completes 100-200 checks a second, so a burst of 300
# concurrent checks drains in 2-3 s.
#
# - POOL_MAX_CONNECTIONS = 32 per worker: a check holds a connection for its two round trips only, so 32 keep a
#   busy loop fed; the default pool opens a connection (and pays its handshake) per concurrent check in a burst.
# - A check queues for a free connection instead of failing (BlockingConnectionPool), as long as the check
#   deadline allows: POOL_WAIT_S = CHECK_DEADLINE_S.
# - SOCKET_TIMEOUT_S = 2: one reply slower than that is an outage whatever the load. Connecting gets as long:
#   a burst on a cold pool opens 32 connections at once, and 1 s was seen to run out on a busy box.
# - CHECK_DEADLINE_S = 5 bounds a whole check (queueing plus both round trips), above the 2-3 s drain of a burst.
# - STALL_S tells a dead or hung Redis from a busy one: when no check at all got an answer for 0.5 s, plus 10 ms
#   per check in flight (the queue our own loop drains at 100 a second: 300 in flight allow 3.5 s), it is down
#   and checks degrade open at once; a store that keeps answering is waited for, up to the deadline.
# - Connection errors are retried once, at once (a pooled connection may have been dropped), never with
#   backoff: a refused connection degrades the check immediately instead of after seconds of retries.
POOL_MAX_CONNECTIONS = 32
SOCKET_TIMEOUT_S = 2.0
SOCKET_CONNECT_TIMEOUT_S = 2.0
CHECK_DEADLINE_S = 5.0
POOL_WAIT_S = CHECK_DEADLINE_S
STALL_S = 0.5
STALL_PER_CHECK_S = 0.01

_SCHEMES = {"redis": "async+redis", "rediss": "async+rediss", "unix": "async+redis+unix"}


def build_limiter(settings: Settings, *, namespace: str = DEFAULT_NAMESPACE) -> Limiter:
    """The limiter for `settings`; a bad cap override or Redis URL raises ValueError (fail fast at start-up).

    Redis keys live under `<namespace>:`, so several deployments (or test runs) can share one Redis.
    Call `await limiter.close()` on shutdown.
    """
    caps = resolve_caps(settings.resemble_rate_limits)
    if settings.redis_url is None:
        memory = MemoryStorage(wrap_exceptions=True)
        return Limiter(memory, caps, deadline_s=CHECK_DEADLINE_S, on_close=lambda: _close_memory(memory))

    scheme, _, rest = settings.redis_url.partition("://")
    async_scheme = _SCHEMES.get(scheme, scheme if scheme in _SCHEMES.values() else None)
    if not rest or async_scheme is None:
        # Never echo the URL itself: it may carry a password.
        got = repr(scheme) if rest else "none"
        raise ValueError(f"REDIS_URL must use one of {', '.join(_SCHEMES)}:// (got scheme {got})")
    # One client (and so one bounded connection pool) per limiter, shared by every check.
    pool = redis.asyncio.BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=POOL_MAX_CONNECTIONS,
        timeout=POOL_WAIT_S,
        socket_timeout=SOCKET_TIMEOUT_S,
        socket_connect_timeout=SOCKET_CONNECT_TIMEOUT_S,
        retry=Retry(NoBackoff(), retries=1),
    )
    store = RedisStorage(
        f"{async_scheme}://{rest}",
        wrap_exceptions=True,
        implementation="redispy",
        key_prefix=namespace,
        connection_pool=pool,  # type: ignore[arg-type]  # passed through to redis-py; limits types options narrowly
    )
    return Limiter(
        store,
        caps,
        deadline_s=CHECK_DEADLINE_S,
        stall_s=STALL_S,
        stall_per_check_s=STALL_PER_CHECK_S,
        store_label=redacted_url(settings.redis_url),
        on_close=lambda: _close_redis(store),
    )


def redacted_url(url: str) -> str:
    """`url` without user name or password, fit for logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    with contextlib.suppress(ValueError):
        if parts.port is not None:
            host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}"


async def _close_memory(storage: MemoryStorage) -> None:
    # The storage schedules a background expiry task; cancel it so no task outlives the app.
    if storage.timer is not None and not storage.timer.done():
        storage.timer.cancel()


async def _close_redis(storage: RedisStorage) -> None:
    bridge = storage.bridge
    if isinstance(bridge, RedispyBridge):
        await bridge.storage.aclose()
        await bridge.storage.connection_pool.disconnect()
