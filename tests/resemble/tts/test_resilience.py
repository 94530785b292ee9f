"""Rate limits, the circuit breaker and a dead Redis, seen through HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import Customer, create_customer
from voicegate.app import create_app
from voicegate.config import Settings

URL = "/api/v1/resemble/tts/synthesize"


async def _stack(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
            yield app, http


@pytest.fixture
async def limited(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async for pair in _stack(settings.model_copy(update={"resemble_rate_limits": {"tts": "2/minute"}})):
        yield pair


@pytest.fixture
async def fragile(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async for pair in _stack(settings.model_copy(update={"resemble_breaker_failures": 3})):
        yield pair


class TestRateLimit:
    async def test_third_call_in_a_minute_is_429_with_retry_after(
        self, limited: tuple[FastAPI, httpx.AsyncClient], session: AsyncSession
    ):
        _, http = limited
        customer = await create_customer(session)
        body = {"voice_uuid": "55592656", "text": "limited"}
        assert [(await http.post(URL, json=body, headers=customer.headers)).status_code for _ in range(2)] == [
            200,
            200,
        ]
        refused = await http.post(URL, json=body, headers=customer.headers)
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) >= 1
        assert "tts" in refused.json()["detail"]

    async def test_windows_are_per_user(self, limited: tuple[FastAPI, httpx.AsyncClient], session: AsyncSession):
        _, http = limited
        first, second = await create_customer(session), await create_customer(session)
        body = {"voice_uuid": "55592656", "text": "limited"}
        for _ in range(2):
            await http.post(URL, json=body, headers=first.headers)
        assert (await http.post(URL, json=body, headers=first.headers)).status_code == 429
        assert (await http.post(URL, json=body, headers=second.headers)).status_code == 200

    async def test_refused_request_costs_nothing(
        self, limited: tuple[FastAPI, httpx.AsyncClient], session: AsyncSession
    ):
        _, http = limited
        customer = await create_customer(session)
        body = {"voice_uuid": "55592656", "text": "limited"}
        spent = [await http.post(URL, json=body, headers=customer.headers) for _ in range(3)]
        charged = sum(float(r.json()["billing"]["charged"]) for r in spent if r.status_code == 200)
        usage = (await http.get("/api/v1/user/usage", headers=customer.headers)).json()
        assert float(usage["total_spent_usd"]) == pytest.approx(charged)


class TestCircuitBreaker:
    async def test_opens_after_repeated_failures_and_stops_calling_upstream(
        self, fragile: tuple[FastAPI, httpx.AsyncClient], session: AsyncSession
    ):
        app, http = fragile
        customer = await create_customer(session)
        sim = httpx.AsyncClient(transport=httpx.ASGITransport(app=app.state.resources.simulator), base_url="http://sim")
        await sim.post("/_sim/faults", json={"path": "/synthesize", "status": 500, "count": -1})
        body = {"voice_uuid": "55592656", "text": "down"}
        failures = [(await http.post(URL, json=body, headers=customer.headers)).status_code for _ in range(3)]
        assert failures == [502, 502, 502]
        await sim.delete("/_sim/requests")
        refused = await http.post(URL, json=body, headers=customer.headers)
        assert refused.status_code == 503
        assert int(refused.headers["Retry-After"]) >= 1
        assert "business-plan" not in refused.json()["detail"].lower()
        assert (await sim.get("/_sim/requests")).json() == []
        assert (await http.get("/healthz")).json()["upstream_circuit"] == "open"
        usage = (await http.get("/api/v1/user/usage", headers=customer.headers)).json()
        assert usage["credits_usd"] == "10.000000"

    async def test_client_errors_do_not_trip_it(
        self, fragile: tuple[FastAPI, httpx.AsyncClient], session: AsyncSession
    ):
        app, http = fragile
        customer = await create_customer(session)
        sim = httpx.AsyncClient(transport=httpx.ASGITransport(app=app.state.resources.simulator), base_url="http://sim")
        await sim.post("/_sim/faults", json={"path": "/synthesize", "status": 400, "count": 4})
        for _ in range(4):
            response = await http.post(URL, json={"voice_uuid": "55592656", "text": "x"}, headers=customer.headers)
            assert response.status_code == 400
        ok = await http.post(URL, json={"voice_uuid": "55592656", "text": "fine"}, headers=customer.headers)
        assert ok.status_code == 200


class TestRedisDown:
    async def test_requests_pass_when_the_limiter_store_is_unreachable(
        self, settings: Settings, session: AsyncSession, caplog: pytest.LogCaptureFixture
    ):
        from voicegate import metrics

        store_errors = metrics.ratelimit_degraded.labels(reason="store_error")
        before = store_errors._value.get()
        async for _, http in _stack(settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})):
            customer: Customer = await create_customer(session)
            response = await http.get("/api/v1/resemble/tts/voices", headers=customer.headers)
            assert response.status_code == 200
        assert store_errors._value.get() > before
        assert any(r.name.startswith("voicegate.ratelimit") and r.levelname == "WARNING" for r in caplog.records)
