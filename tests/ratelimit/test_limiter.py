"""The same behaviours against the in-process store and a real Redis (the `backend` fixture)."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
import redis
from prometheus_client import REGISTRY

from voicegate.errors import RateLimited
from voicegate.ratelimit import Capability

from .conftest import MakeLimiter


def user() -> str:
    return f"user-{uuid.uuid4().hex[:8]}"


async def test_cap_then_refusal_with_retry_after(make_limiter: MakeLimiter) -> None:
    limiter = await make_limiter({"tts": "3/minute"})
    alice = user()
    decisions = [await limiter.hit(alice, Capability.TTS) for _ in range(3)]
    assert [d.allowed for d in decisions] == [True, True, True]
    assert [d.remaining for d in decisions] == [2, 1, 0]
    assert all(d.limit == 3 and not d.degraded for d in decisions)

    refused = await limiter.hit(alice, Capability.TTS)
    assert not refused.allowed
    assert refused.remaining == 0
    assert 1 <= refused.retry_after_s <= 60
    assert refused.reset_at > time.time()


async def test_users_and_capabilities_have_independent_windows(make_limiter: MakeLimiter) -> None:
    limiter = await make_limiter({"tts": "1/minute", "stt": "1/minute"})
    alice, bob = user(), user()
    assert (await limiter.hit(alice, Capability.TTS)).allowed
    assert not (await limiter.hit(alice, Capability.TTS)).allowed
    assert (await limiter.hit(bob, Capability.TTS)).allowed
    assert (await limiter.hit(alice, Capability.STT)).allowed
    assert not (await limiter.hit(bob, Capability.TTS)).allowed


async def test_window_slides_rather_than_resets(make_limiter: MakeLimiter) -> None:
    limiter = await make_limiter({"tts": "2/second"})
    alice = user()
    assert (await limiter.hit(alice, Capability.TTS)).allowed  # t0
    await asyncio.sleep(0.5)
    assert (await limiter.hit(alice, Capability.TTS)).allowed  # t0 + 0.5
    refused = await limiter.hit(alice, Capability.TTS)
    assert not refused.allowed
    assert refused.retry_after_s == 1

    # Once the t0 hit leaves the window one request fits again, but the t0 + 0.5 hit still counts:
    # a fixed window would have freed both slots.
    await asyncio.sleep(max(0.0, refused.reset_at - time.time()) + 0.05)
    assert (await limiter.hit(alice, Capability.TTS)).allowed
    assert not (await limiter.hit(alice, Capability.TTS)).allowed


async def test_check_or_raise_gives_429_with_retry_after(make_limiter: MakeLimiter) -> None:
    limiter = await make_limiter({"tts": "2/minute"})
    alice = user()
    before = REGISTRY.get_sample_value("voicegate_ratelimit_rejections_total", {"capability": "tts"}) or 0.0
    assert (await limiter.check_or_raise(alice, Capability.TTS)).remaining == 1
    await limiter.check_or_raise(alice, Capability.TTS)

    with pytest.raises(RateLimited) as caught:
        await limiter.check_or_raise(alice, Capability.TTS)
    exc = caught.value
    assert exc.status_code == 429
    retry_after = int(exc.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert exc.detail == f"Rate limit exceeded for tts: 2 per 1 minute; retry in {retry_after} s"
    after = REGISTRY.get_sample_value("voicegate_ratelimit_rejections_total", {"capability": "tts"})
    assert after == before + 1


@pytest.mark.redis
async def test_redis_keys_live_under_the_namespace(
    limiter_redis_url: str, namespace: str, make_redis_limiter: MakeLimiter
) -> None:
    limiter = await make_redis_limiter()
    alice = user()
    await limiter.hit(alice, Capability.VOICE_DESIGN)
    client = redis.Redis.from_url(limiter_redis_url)
    try:
        keys = [k.decode() for k in client.scan_iter(match=f"{namespace}:*")]
    finally:
        client.close()
    assert len(keys) == 1
    assert f"/voice_design/{alice}/" in keys[0]


@pytest.mark.redis
async def test_workers_sharing_redis_enforce_one_cap(make_redis_limiter: MakeLimiter) -> None:
    workers = [await make_redis_limiter({"tts": "4/minute"}) for _ in range(2)]
    alice, bob = user(), user()
    in_turn = [(await workers[i % 2].hit(alice, Capability.TTS)).allowed for i in range(8)]
    assert in_turn == [True] * 4 + [False] * 4

    at_once = await asyncio.gather(*(worker.hit(bob, Capability.TTS) for worker in workers for _ in range(5)))
    assert sum(d.allowed for d in at_once) == 4
