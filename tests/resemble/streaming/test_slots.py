"""The per-user concurrent-stream cap: in one process without Redis, across processes with it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from voicegate.resemble.streaming.slots import MemoryStreamSlots, RedisStreamSlots, StreamSlots


@pytest.fixture
def user_id() -> str:
    return uuid.uuid4().hex


@pytest.fixture
def redis_only(redis_url: str | None) -> str:
    if redis_url is None:
        pytest.skip("needs REDIS_URL (the services pass runs it)")
    return redis_url


@pytest.fixture
async def memory() -> AsyncIterator[StreamSlots]:
    slots = MemoryStreamSlots()
    yield slots
    await slots.close()


async def test_in_process_the_cap_holds_and_exiting_frees_a_slot(memory: StreamSlots, user_id: str):
    async with memory.slot(user_id, 2) as one, memory.slot(user_id, 2) as two:
        async with memory.slot(user_id, 2) as three, memory.slot("someone else", 2) as other:
            assert (one, two, three, other) == (True, True, False, True)
    async with memory.slot(user_id, 1) as again:
        assert again is True


async def test_two_processes_share_the_cap_through_redis(redis_only: str, user_id: str):
    first, second = RedisStreamSlots(redis_only), RedisStreamSlots(redis_only)  # as two gateway processes would
    try:
        async with first.slot(user_id, 2) as one, second.slot(user_id, 2) as two:
            async with first.slot(user_id, 2) as three, second.slot(user_id, 2) as four:
                assert (one, two, three, four) == (True, True, False, False)
        async with second.slot(user_id, 2) as again:
            assert again is True
    finally:
        await first.close()
        await second.close()


async def test_a_renewed_lease_keeps_its_slot_and_a_silent_one_runs_out(redis_only: str, user_id: str):
    renewing = RedisStreamSlots(redis_only, lease_s=0.3, renew_every_s=0.05)
    silent = RedisStreamSlots(redis_only, lease_s=0.3, renew_every_s=60)  # a process that hung or crashed
    other = RedisStreamSlots(redis_only)
    try:
        async with renewing.slot(user_id, 1) as held:
            await asyncio.sleep(0.5)  # past the lease: only renewal keeps it
            async with other.slot(user_id, 1) as refused:
                assert (held, refused) == (True, False)
        async with silent.slot(user_id, 1) as held:
            await asyncio.sleep(0.5)
            async with other.slot(user_id, 1) as taken:
                assert (held, taken) == (True, True)
    finally:
        for slots in (renewing, silent, other):
            await slots.close()
