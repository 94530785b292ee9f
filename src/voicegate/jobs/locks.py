"""Short per-task locks, so a periodic task runs in one process at a time however many gateways and workers run.

Beat sends each tick once, but in-process loops of several gateway replicas, or a tick redelivered to a second
worker, would otherwise run the same sweep side by side (two upstream polls of one job, say). A run that finds the
lock taken is skipped: the holder is doing the same work. A lock expires after its lease, so a crashed holder
delays the task by one lease at most. With REDIS_URL set the lock is a Redis key (`SET NX PX`, released only by
its holder's token); otherwise a `task_locks` row claimed by a conditional UPDATE, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import LockError
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voicegate.db.models import TaskLock
from voicegate.db.upsert import insert_or_ignore
from voicegate.kit.time import utc_now

log = logging.getLogger(__name__)

KEY_PREFIX = "voicegate:task-lock:"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class TaskLocks(Protocol):
    def hold(self, name: str, lease_s: float) -> contextlib.AbstractAsyncContextManager[bool]:
        """Enter with True when this caller holds `name` for up to `lease_s` (released on exit), else False."""
        ...

    async def close(self) -> None: ...


class RedisTaskLocks:
    def __init__(self, url: str) -> None:
        self._redis = Redis.from_url(url)

    @contextlib.asynccontextmanager
    async def hold(self, name: str, lease_s: float) -> AsyncIterator[bool]:
        lock = self._redis.lock(KEY_PREFIX + name, timeout=lease_s, blocking=False)
        if not await lock.acquire():
            yield False
            return
        try:
            yield True
        finally:
            with contextlib.suppress(LockError):  # the lease ran out first: someone else may hold it now
                await lock.release()

    async def close(self) -> None:
        await self._redis.aclose()


class DatabaseTaskLocks:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def _claim(self, name: str, token: str, lease_s: float) -> bool:
        now = utc_now()
        async with self._sessionmaker() as session:
            await insert_or_ignore(
                session, TaskLock, {"name": name, "token": None, "held_until": EPOCH}, [TaskLock.name]
            )
            claimed = await session.execute(
                update(TaskLock)
                .where(TaskLock.name == name, TaskLock.held_until <= now)
                .values(token=token, held_until=now + timedelta(seconds=lease_s))
                .execution_options(synchronize_session=False)
            )
            await session.commit()
        return bool(claimed.rowcount)  # type: ignore[attr-defined]

    async def _release(self, name: str, token: str) -> None:
        async with self._sessionmaker() as session:
            await session.execute(
                update(TaskLock)
                .where(TaskLock.name == name, TaskLock.token == token)
                .values(token=None, held_until=EPOCH)
                .execution_options(synchronize_session=False)
            )
            await session.commit()

    @contextlib.asynccontextmanager
    async def hold(self, name: str, lease_s: float) -> AsyncIterator[bool]:
        token = secrets.token_hex(16)
        if not await self._claim(name, token, lease_s):
            yield False
            return
        try:
            yield True
        finally:
            try:
                await self._release(name, token)
            except Exception:  # the lease ends on its own
                log.warning("task_lock_release_failed", extra={"task": name}, exc_info=True)

    async def close(self) -> None:
        return None


def build_task_locks(redis_url: str | None, sessionmaker: async_sessionmaker[AsyncSession]) -> TaskLocks:
    return RedisTaskLocks(redis_url) if redis_url else DatabaseTaskLocks(sessionmaker)
