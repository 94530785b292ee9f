"""Redis reachable and the machine busy is not an outage: the limiter keeps enforcing, it never degrades."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from voicegate.ratelimit import Capability

from .conftest import MakeLimiter
from .test_degrade import degraded_total

pytestmark = pytest.mark.redis

CONCURRENT_CHECKS = 300
USERS = 30
# Like the gateway serialising audio responses: each step holds the event loop for a few milliseconds.
PAYLOAD = {"audio_content": "A" * 100_000, "billing": {"charged": "0.001200"}}


SPIN = "import time\nstop = time.monotonic() + 30\nwhile time.monotonic() < stop: pass"


@pytest.fixture
def busy_cpus() -> Iterator[None]:
    """Every core kept busy by another process for the length of the test (at most 30 s)."""
    spinners = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(os.cpu_count() or 2)]
    try:
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


async def _hog_the_loop(stop: asyncio.Event) -> None:
    while not stop.is_set():
        json.dumps(PAYLOAD)
        await asyncio.sleep(0)


async def test_hundreds_of_concurrent_checks_on_a_busy_machine_never_degrade(
    make_redis_limiter: MakeLimiter, busy_cpus: None
) -> None:
    limiter = await make_redis_limiter({"tts": "100000/minute"})
    before = degraded_total()
    stop = asyncio.Event()
    hogs = [asyncio.create_task(_hog_the_loop(stop)) for _ in range(4)]
    try:
        decisions = await asyncio.gather(
            *(limiter.hit(f"user-{n % USERS}", Capability.TTS) for n in range(CONCURRENT_CHECKS))
        )
    finally:
        stop.set()
        await asyncio.gather(*hogs)
    assert degraded_total() - before == 0
    assert not any(decision.degraded for decision in decisions)
    assert all(decision.allowed for decision in decisions)
    # Every hit was counted in Redis: each user's window holds exactly its share.
    window = await limiter.hit("user-0", Capability.TTS)
    assert window.remaining == 100_000 - CONCURRENT_CHECKS // USERS - 1


async def test_the_cap_still_holds_under_a_concurrent_burst(make_redis_limiter: MakeLimiter, busy_cpus: None) -> None:
    limiter = await make_redis_limiter({"tts": "50/minute"})
    before = degraded_total()
    decisions = await asyncio.gather(*(limiter.hit("alice", Capability.TTS) for _ in range(300)))
    assert degraded_total() - before == 0
    assert sum(decision.allowed for decision in decisions) == 50
