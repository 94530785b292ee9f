"""A failing store lets requests through, counts them, and warns without flooding the log."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import pytest
from limits.aio.storage import MemoryStorage
from prometheus_client import REGISTRY

from voicegate.ratelimit import Capability, Limiter, build_limiter, resolve_caps

from .conftest import make_settings

LOGGER = "voicegate.ratelimit"


def degraded_total(reason: str | None = None) -> float:
    """Degraded checks counted so far, for one `reason` label or all of them."""
    reasons = [reason] if reason else ["store_error", "timeout", "skipped"]
    return sum(REGISTRY.get_sample_value("voicegate_ratelimit_degraded_total", {"reason": r}) or 0.0 for r in reasons)


def warnings_logged(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]


async def test_dead_redis_degrades_open_and_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    limiter = build_limiter(make_settings("redis://:s3cret-pw@127.0.0.1:1/0", {"tts": "1/minute"}))
    before = degraded_total()
    try:
        for _ in range(20):
            started = time.monotonic()
            decision = await limiter.hit("alice", Capability.TTS)
            assert time.monotonic() - started < 1.0
            assert decision.allowed
            assert decision.degraded
        await limiter.check_or_raise("alice", Capability.TTS)
    finally:
        await limiter.close()

    assert degraded_total() == before + 21
    warned = warnings_logged(caplog)
    assert len(warned) == 1
    assert "127.0.0.1:1" in warned[0].getMessage()
    assert "s3cret-pw" not in caplog.text


@pytest.fixture
async def hung_redis_url() -> AsyncIterator[str]:
    """A server that accepts connections and never answers: the worst case for a stalled Redis."""

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.close()
        await server.wait_closed()


async def test_hung_redis_does_not_stall_requests(hung_redis_url: str) -> None:
    limiter = build_limiter(make_settings(hung_redis_url))
    try:
        for _ in range(3):
            started = time.monotonic()
            decision = await limiter.hit("alice", Capability.TTS)
            assert time.monotonic() - started < 1.0
            assert decision.allowed
            assert decision.degraded
    finally:
        await limiter.close()


class FlakyStorage(MemoryStorage):
    """In-memory store that can be switched off; its ValueError is wrapped as a limits StorageError."""

    down = False

    async def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if self.down:
            raise ValueError("store is down")
        return await super().acquire_entry(key, limit, expiry, amount)


async def test_warning_repeats_after_interval_and_recovery_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    storage = FlakyStorage(wrap_exceptions=True)
    limiter = Limiter(
        storage, resolve_caps({"tts": "1/minute"}), warn_every_s=0.2, store_retry_s=0.0, store_label="flaky"
    )
    storage.down = True
    assert (await limiter.hit("alice", Capability.TTS)).degraded
    assert (await limiter.hit("alice", Capability.TTS)).degraded
    assert len(warnings_logged(caplog)) == 1
    await asyncio.sleep(0.25)
    assert (await limiter.hit("alice", Capability.TTS)).degraded
    warned = warnings_logged(caplog)
    assert len(warned) == 2
    assert "(1 more since the last warning)" in warned[1].getMessage()
    assert "ValueError: store is down" in warned[1].getMessage()

    storage.down = False
    assert (await limiter.hit("alice", Capability.TTS)).allowed
    assert not (await limiter.hit("alice", Capability.TTS)).allowed
    assert any("reachable again" in r.getMessage() for r in caplog.records if r.levelno == logging.INFO)
    await limiter.close()


async def test_store_is_skipped_briefly_after_a_failure() -> None:
    storage = FlakyStorage(wrap_exceptions=True)
    limiter = Limiter(storage, resolve_caps({"tts": "1/minute"}), store_retry_s=0.2)
    storage.down = True
    assert (await limiter.hit("alice", Capability.TTS)).degraded
    storage.down = False
    assert (await limiter.hit("alice", Capability.TTS)).degraded  # store not retried yet
    await asyncio.sleep(0.25)
    assert not (await limiter.hit("alice", Capability.TTS)).degraded


async def test_each_degrade_is_counted_with_its_reason(hung_redis_url: str) -> None:
    dead = build_limiter(make_settings("redis://127.0.0.1:1/0"))
    hung = build_limiter(make_settings(hung_redis_url))
    before = {reason: degraded_total(reason) for reason in ("store_error", "timeout", "skipped")}
    try:
        await dead.hit("alice", Capability.TTS)  # refused: a store error
        await dead.hit("alice", Capability.TTS)  # within store_retry_s: skipped without asking
        await hung.hit("alice", Capability.TTS)  # accepted, never answered: a timeout
    finally:
        await dead.close()
        await hung.close()
    assert {reason: degraded_total(reason) - count for reason, count in before.items()} == {
        "store_error": 1,
        "timeout": 1,
        "skipped": 1,
    }
