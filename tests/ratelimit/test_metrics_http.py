"""The degrade count is readable over HTTP, so a load test in another process can assert on it."""

from __future__ import annotations

import re

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import create_customer
from voicegate.app import create_app
from voicegate.config import Settings

DEGRADED = re.compile(r'^voicegate_ratelimit_degraded_total\{reason="store_error"\} (\S+)$', re.MULTILINE)


async def scraped_store_errors(http: httpx.AsyncClient) -> float:
    response = await http.get("/metrics")
    assert response.status_code == 200
    found = DEGRADED.search(response.text)
    return float(found.group(1)) if found else 0.0


async def test_metrics_count_requests_let_through_by_a_dead_redis(settings: Settings, session: AsyncSession) -> None:
    app = create_app(settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"}))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
            customer = await create_customer(session)
            before = await scraped_store_errors(http)
            body = {"voice_uuid": "55592656", "text": "counted"}
            assert (await http.post("/api/v1/resemble/tts/synthesize", json=body, headers=customer.headers)).is_success
            assert await scraped_store_errors(http) == before + 1
