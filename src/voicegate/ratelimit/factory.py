"""Build the process-wide limiter from settings: in-process memory by default, Redis when configured."""

from __future__ import annotations

import contextlib
from urllib.parse import urlsplit

from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.storage.redis.redispy import RedispyBridge

from voicegate.config import Settings
from voicegate.ratelimit.base import Limiter
from voicegate.ratelimit.rules import resolve_caps

DEFAULT_NAMESPACE = "voicegate"
# A healthy Redis answers in well under a millisecond; these only bound how long a dead one stalls a request.
SOCKET_TIMEOUT_S = 0.25
CHECK_DEADLINE_S = 0.5

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
    # One client (and so one connection pool) per limiter, shared by every check.
    redis = RedisStorage(
        f"{async_scheme}://{rest}",
        wrap_exceptions=True,
        implementation="redispy",
        key_prefix=namespace,
        socket_timeout=SOCKET_TIMEOUT_S,
        socket_connect_timeout=SOCKET_TIMEOUT_S,
    )
    return Limiter(
        redis,
        caps,
        deadline_s=CHECK_DEADLINE_S,
        store_label=redacted_url(settings.redis_url),
        on_close=lambda: _close_redis(redis),
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
