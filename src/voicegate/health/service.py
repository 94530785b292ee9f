"""Readiness: can this instance serve traffic now? Each dependency is checked separately, concurrently, and
within `CHECK_TIMEOUT_S`, so a hung component answers "down" instead of hanging the probe.

The database and storage are required: without them no billed request can succeed. Redis is not: when it is
down the limiter lets requests through unchecked (and counts it), so the instance still serves and is reported
`degraded` with 200, rather than being pulled from the load balancer and turning lost fairness into an outage.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from voicegate.health.schemas import CheckRead, ReadinessChecks, ReadinessRead
from voicegate.ratelimit.base import Limiter
from voicegate.storage.base import StorageBackend

CHECK_TIMEOUT_S = 2.0


async def _run(probe: Callable[[], Awaitable[None]], *, backend: str, required: bool, timeout_s: float) -> CheckRead:
    started = time.perf_counter()
    error: str | None = None
    try:
        async with asyncio.timeout(timeout_s):
            await probe()
    except TimeoutError:
        error = f"no answer within {timeout_s:g} s"
    except Exception as exc:  # any failure of the component is the answer, not an error of the probe
        error = _describe(exc)
    latency_ms = round((time.perf_counter() - started) * 1000, 1)
    return CheckRead(ok=error is None, required=required, backend=backend, latency_ms=latency_ms, error=error)


def _describe(exc: Exception) -> str:
    # The driver's first line, not SQLAlchemy's full message with its statement and help link.
    cause = getattr(exc, "orig", None) or exc
    return f"{type(exc).__name__}: {str(cause).splitlines()[0] if str(cause) else type(cause).__name__}"[:300]


def _database_probe(engine: AsyncEngine) -> Callable[[], Awaitable[None]]:
    async def probe() -> None:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    return probe


def _redis_probe(limiter: Limiter) -> Callable[[], Awaitable[None]]:
    async def probe() -> None:
        if not await limiter.store_answers():
            raise ConnectionError(f"rate-limit store {limiter.store_label} does not answer PING")

    return probe


async def readiness(
    engine: AsyncEngine, limiter: Limiter, storage: StorageBackend, *, timeout_s: float = CHECK_TIMEOUT_S
) -> ReadinessRead:
    database, redis, stored = await asyncio.gather(
        _run(_database_probe(engine), backend=engine.dialect.name, required=True, timeout_s=timeout_s),
        _run(_redis_probe(limiter), backend=limiter.store_kind, required=False, timeout_s=timeout_s),
        _run(storage.ping, backend=storage.name, required=True, timeout_s=timeout_s),
    )
    checks = ReadinessChecks(database=database, redis=redis, storage=stored)
    failed = [check for check in (database, redis, stored) if not check.ok]
    if any(check.required for check in failed):
        status = "unavailable"
    elif failed:
        status = "degraded"
    else:
        status = "ok"
    return ReadinessRead(status=status, checks=checks)
