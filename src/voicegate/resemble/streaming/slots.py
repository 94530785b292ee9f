"""How many streaming sockets each user has open, counted across every gateway process (`TTS_STREAM_MAX_PER_USER`).

A rate window cannot say how many sockets are open now, so this is a small counting semaphore per user. With
REDIS_URL set each open socket is a member of a Redis sorted set scored by its lease's expiry; the holder renews
the lease while the socket lives, so a crashed process frees its slots within one lease. Without Redis the count
lives in this process. A Redis that fails lets the socket through (logged), as the rate limiter degrades open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

KEY_PREFIX = "voicegate:tts-stream:"
LEASE_S = 30.0
RENEW_EVERY_S = 10.0

_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
"""


class StreamSlots(Protocol):
    def slot(self, user_id: str, cap: int) -> contextlib.AbstractAsyncContextManager[bool]:
        """Enter with True while the user holds one of their `cap` slots (freed on exit), False when all are taken."""
        ...

    async def close(self) -> None: ...


class MemoryStreamSlots:
    def __init__(self) -> None:
        self._open: defaultdict[str, int] = defaultdict(int)

    @contextlib.asynccontextmanager
    async def slot(self, user_id: str, cap: int) -> AsyncIterator[bool]:
        if self._open[user_id] >= cap:
            yield False
            return
        self._open[user_id] += 1
        try:
            yield True
        finally:
            self._open[user_id] -= 1
            if not self._open[user_id]:
                del self._open[user_id]

    async def close(self) -> None:
        return None


class RedisStreamSlots:
    def __init__(self, url: str, *, lease_s: float = LEASE_S, renew_every_s: float = RENEW_EVERY_S) -> None:
        self._redis = Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self._acquire = self._redis.register_script(_ACQUIRE)
        self._lease_s = lease_s
        self._renew_every_s = renew_every_s

    async def _take(self, key: str, token: str, cap: int) -> bool:
        now = time.time()
        try:
            taken = await self._acquire(
                keys=[key],
                args=[int(now * 1000), int((now + self._lease_s) * 1000), cap, token, int(self._lease_s * 1000)],
            )
        except (RedisError, OSError) as exc:
            log.warning("stream_slots_unavailable: letting the stream through (%s)", type(exc).__name__)
            return True
        return bool(taken)

    async def _renew(self, key: str, token: str) -> None:
        while True:
            await asyncio.sleep(self._renew_every_s)
            with contextlib.suppress(RedisError, OSError):
                await self._redis.zadd(key, {token: int((time.time() + self._lease_s) * 1000)}, xx=True)
                await self._redis.pexpire(key, int(self._lease_s * 1000))

    @contextlib.asynccontextmanager
    async def slot(self, user_id: str, cap: int) -> AsyncIterator[bool]:
        key, token = KEY_PREFIX + user_id, secrets.token_hex(8)
        if not await self._take(key, token, cap):
            yield False
            return
        renewing = asyncio.create_task(self._renew(key, token))
        try:
            yield True
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
            try:
                await self._redis.zrem(key, token)
            except (RedisError, OSError):  # the lease runs out on its own
                log.warning("stream_slot_not_freed", exc_info=True)

    async def close(self) -> None:
        await self._redis.aclose()


def build_stream_slots(redis_url: str | None) -> StreamSlots:
    return RedisStreamSlots(redis_url) if redis_url else MemoryStreamSlots()
