"""A `ResembleClient` over `httpx.MockTransport` with a scripted fake, a fake clock and no real sleeps."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from voicegate.upstream import ResembleClient

from .fakes import API_KEY, BASE_URL, SYNTH_URL, FakeClock, FakeResemble, RecordingSleep


@pytest.fixture
def fake() -> FakeResemble:
    return FakeResemble()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
async def client(fake: FakeResemble, clock: FakeClock, sleep: RecordingSleep) -> AsyncIterator[ResembleClient]:
    http = httpx.AsyncClient(transport=httpx.MockTransport(fake))
    async with http:
        yield ResembleClient(
            http,
            api_key=API_KEY,
            base_url=BASE_URL,
            synth_url=SYNTH_URL,
            max_retries=2,
            breaker_failures=3,
            breaker_reset_s=30.0,
            sleep=sleep,
            clock=clock,
        )
