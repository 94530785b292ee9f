from __future__ import annotations

import httpx
import pytest
from prometheus_client import REGISTRY

from voicegate.errors import UpstreamError, UpstreamRejected, UpstreamTimeout, UpstreamUnavailable
from voicegate.upstream import BreakerState, CircuitBreaker, ResembleClient, UpstreamFault, UpstreamThrottled
from voicegate.upstream.errors import counts_as_outage

from .fakes import FakeClock, FakeResemble, json_response

PAYLOAD = {"voice_uuid": "v", "data": "Hello"}


def make_breaker(clock: FakeClock) -> CircuitBreaker:
    return CircuitBreaker(3, 30.0, is_failure=counts_as_outage, clock=clock)


async def fail_with(breaker: CircuitBreaker, exc: Exception) -> None:
    with pytest.raises(type(exc)):
        async with breaker.guard():
            raise exc


async def succeed(breaker: CircuitBreaker) -> None:
    async with breaker.guard():
        pass


async def open_breaker(breaker: CircuitBreaker) -> None:
    for _ in range(breaker.failure_threshold):
        await fail_with(breaker, UpstreamFault())
    assert breaker.state is BreakerState.OPEN


class TestOpening:
    async def test_opens_after_threshold_consecutive_failures(self, clock: FakeClock) -> None:
        breaker = make_breaker(clock)
        await fail_with(breaker, UpstreamFault())
        await fail_with(breaker, UpstreamTimeout())
        assert breaker.state is BreakerState.CLOSED

        await fail_with(breaker, UpstreamFault())

        assert breaker.state is BreakerState.OPEN

    async def test_a_success_resets_the_count(self, clock: FakeClock) -> None:
        breaker = make_breaker(clock)
        await fail_with(breaker, UpstreamFault())
        await fail_with(breaker, UpstreamFault())
        await succeed(breaker)
        await fail_with(breaker, UpstreamFault())
        await fail_with(breaker, UpstreamFault())

        assert breaker.state is BreakerState.CLOSED

    @pytest.mark.parametrize(
        "exc",
        [
            UpstreamRejected("bad input", status_code=400),
            UpstreamRejected("no voice", status_code=404),
            UpstreamError(),  # account-level 401/402/403
            UpstreamThrottled(retry_after_s=2),
        ],
    )
    async def test_refusals_account_errors_and_throttling_never_count(self, clock: FakeClock, exc: Exception) -> None:
        breaker = make_breaker(clock)
        for _ in range(10):
            await fail_with(breaker, exc)

        assert breaker.state is BreakerState.CLOSED


class TestOpen:
    async def test_rejects_fast_with_seconds_until_the_probe(self, clock: FakeClock) -> None:
        breaker = make_breaker(clock)
        await open_breaker(breaker)
        before = REGISTRY.get_sample_value("voicegate_upstream_breaker_rejections_total") or 0.0
        clock.advance(20.5)

        with pytest.raises(UpstreamUnavailable) as caught:
            await succeed(breaker)

        assert caught.value.status_code == 503
        assert caught.value.headers == {"Retry-After": "10"}
        assert REGISTRY.get_sample_value("voicegate_upstream_breaker_rejections_total") == before + 1

    async def test_retry_after_is_at_least_one_second(self, clock: FakeClock) -> None:
        breaker = make_breaker(clock)
        await open_breaker(breaker)
        clock.advance(29.9)

        with pytest.raises(UpstreamUnavailable) as caught:
            await succeed(breaker)

        assert caught.value.headers == {"Retry-After": "1"}


class TestHalfOpen:
    async def test_half_opens_once_the_reset_timeout_passes(self, clock: FakeClock) -> None:
        breaker = make_breaker(clock)
        await open_breaker(breaker)

        clock.advance(30.0)

        assert breaker.state is BreakerState.HALF_OPEN

    async def test_admits_one_probe_and_refuses_everyone_else_meanwhile(self, clock: FakeClock) -> None:
        breaker = make_breaker(clock)
        await open_breaker(breaker)
        clock.advance(30.0)

        async with breaker.guard():
            with pytest.raises(UpstreamUnavailable) as caught:
                await succeed(breaker)
            assert caught.value.headers == {"Retry-After": "1"}

        assert breaker.state is BreakerState.CLOSED

    async def test_a_failed_probe_reopens_for_another_full_timeout(self, clock: FakeClock) -> None:
        breaker = make_breaker(clock)
        await open_breaker(breaker)
        clock.advance(30.0)

        await fail_with(breaker, UpstreamTimeout())

        assert breaker.state is BreakerState.OPEN
        clock.advance(29.0)
        assert breaker.state is BreakerState.OPEN
        clock.advance(1.0)
        assert breaker.state is BreakerState.HALF_OPEN

    async def test_a_probe_answered_with_a_4xx_closes_it(self, clock: FakeClock) -> None:
        breaker = make_breaker(clock)
        await open_breaker(breaker)
        clock.advance(30.0)

        await fail_with(breaker, UpstreamRejected("bad input", status_code=422))

        assert breaker.state is BreakerState.CLOSED

    async def test_a_cancelled_probe_lets_the_next_caller_probe(self, clock: FakeClock) -> None:
        breaker = make_breaker(clock)
        await open_breaker(breaker)
        clock.advance(30.0)

        with pytest.raises(KeyboardInterrupt):
            async with breaker.guard():
                raise KeyboardInterrupt

        assert breaker.state is BreakerState.HALF_OPEN
        await succeed(breaker)
        assert breaker.state is BreakerState.CLOSED

    async def test_late_results_of_calls_admitted_before_opening_are_ignored(self, clock: FakeClock) -> None:
        breaker = make_breaker(clock)
        async with breaker.guard():  # in flight while the circuit opens
            await open_breaker(breaker)

        assert breaker.state is BreakerState.OPEN


class TestClientUsesTheBreaker:
    async def test_opens_after_consecutive_5xx_and_stops_calling_upstream(
        self, client: ResembleClient, fake: FakeResemble, clock: FakeClock
    ) -> None:
        fake.then(*[json_response(500, {})] * 3)
        for _ in range(3):
            with pytest.raises(UpstreamFault):
                await client.synthesize(PAYLOAD)
        assert client.breaker.state is BreakerState.OPEN

        with pytest.raises(UpstreamUnavailable) as caught:
            await client.get_voice("v")

        assert fake.calls == 3
        assert caught.value.headers == {"Retry-After": "30"}

    async def test_probes_after_the_timeout_and_closes_on_success(
        self, client: ResembleClient, fake: FakeResemble, clock: FakeClock
    ) -> None:
        fake.then(httpx.ReadTimeout, httpx.ReadTimeout, httpx.ReadTimeout)
        for _ in range(3):
            with pytest.raises(UpstreamTimeout):
                await client.synthesize(PAYLOAD)
        clock.advance(30.0)
        fake.then(json_response(200, {"success": True}))

        assert await client.synthesize(PAYLOAD) == {"success": True}

        assert client.breaker.state is BreakerState.CLOSED
        assert fake.calls == 4

    async def test_a_get_with_retries_counts_as_one_failure(self, client: ResembleClient, fake: FakeResemble) -> None:
        fake.then(*[json_response(503, {})] * 3)

        with pytest.raises(UpstreamFault):
            await client.get_voice("v")

        assert fake.calls == 3
        assert client.breaker.state is BreakerState.CLOSED

    @pytest.mark.parametrize("status", [400, 401, 402, 403, 404, 422])
    async def test_4xx_answers_never_trip_it(self, client: ResembleClient, fake: FakeResemble, status: int) -> None:
        fake.then(*[json_response(status, {"message": "no"})] * 6)
        for _ in range(6):
            with pytest.raises((UpstreamError, UpstreamRejected)):
                await client.synthesize(PAYLOAD)

        assert client.breaker.state is BreakerState.CLOSED
        assert fake.calls == 6
