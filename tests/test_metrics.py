"""Operator metrics: each series shows on `GET /metrics` after the requests (or the task run) that cause it.

Counters are process-wide and other tests move them too, so every check compares a scrape before with one after.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import ADMIN_HEADERS, Customer, create_customer
from tests.resemble.jobs.helpers import submit, upload, wait_terminal
from voicegate.app import create_app
from voicegate.billing import ledger
from voicegate.billing import tasks as billing_tasks
from voicegate.config import Settings
from voicegate.db.models import ProviderResembleRequest
from voicegate.webhooks import service as webhooks

SYNTH = "/api/v1/resemble/tts/synthesize"
SPEECH = {"voice_uuid": "55592656", "text": "counted"}

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


class Scrapes:
    """A scrape before the action and one after, read as differences."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.before: Samples = {}
        self.after: Samples = {}

    async def __aenter__(self) -> Scrapes:
        self.before = await scrape(self.client)
        return self

    async def __aexit__(self, *_: object) -> None:
        self.after = await scrape(self.client)

    def delta(self, name: str, **labels: str) -> float:
        return value(self.after, name, **labels) - value(self.before, name, **labels)

    def now(self, name: str, **labels: str) -> float:
        return value(self.after, name, **labels)


@pytest.fixture
async def customer(session: AsyncSession) -> Customer:
    return await create_customer(session)


class TestRequests:
    async def test_counted_by_route_template_never_the_raw_path(self, client: httpx.AsyncClient) -> None:
        async with Scrapes(client) as seen:
            assert (await client.get("/api/v1/admin/users/u-4711", headers=ADMIN_HEADERS)).status_code == 404
            assert (await client.get("/no/such/page")).status_code == 404
        template = {"method": "GET", "route": "/api/v1/admin/users/{user_id}", "status": "404"}
        assert seen.delta("voicegate_http_requests_total", **template) == 1
        assert seen.delta("voicegate_http_requests_total", method="GET", route="unmatched", status="404") == 1
        assert not any("u-4711" in str(labels) or "/no/such" in str(labels) for _, labels in seen.after)

    async def test_a_path_parameter_spanning_segments_is_one_template(
        self, client: httpx.AsyncClient, settings: Settings
    ) -> None:
        if settings.storage_backend != "local":
            pytest.skip("the /files route serves the local backend only")
        async with Scrapes(client) as seen:
            status = (await client.get("/files/tts/u-4711/deep/clip.wav")).status_code
        assert status >= 400
        counted = {"method": "GET", "route": "/files/{key}", "status": str(status)}
        assert seen.delta("voicegate_http_requests_total", **counted) == 1

    async def test_a_success_counts_under_its_status(self, client: httpx.AsyncClient, customer: Customer) -> None:
        async with Scrapes(client) as seen:
            assert (await client.post(SYNTH, json=SPEECH, headers=customer.headers)).status_code == 200
        assert seen.delta("voicegate_http_requests_total", method="POST", route=SYNTH, status="200") == 1


class TestBilledWork:
    async def test_a_synthesis_times_upstream_by_capability_and_counts_its_hold_and_charge(
        self, client: httpx.AsyncClient, customer: Customer
    ) -> None:
        async with Scrapes(client) as seen:
            assert (await client.post(SYNTH, json=SPEECH, headers=customer.headers)).status_code == 200
        latency = {"operation": "synthesize", "capability": "tts"}
        assert seen.delta("voicegate_upstream_latency_seconds_count", **latency) == 1
        assert seen.delta("voicegate_holds_total", capability="tts", event="placed") == 1
        assert seen.delta("voicegate_holds_total", capability="tts", event="captured") == 1
        assert seen.delta("voicegate_holds_total", capability="tts", event="released") == 0
        assert seen.delta("voicegate_charges_total", capability="tts") == 1

    async def test_an_upstream_failure_releases_the_hold_and_charges_nothing(
        self, client: httpx.AsyncClient, simulator: httpx.AsyncClient, customer: Customer
    ) -> None:
        await simulator.post("/_sim/faults", json={"path": "synthesize", "status": 500, "count": 5})
        async with Scrapes(client) as seen:
            assert (await client.post(SYNTH, json=SPEECH, headers=customer.headers)).status_code == 502
        assert seen.delta("voicegate_holds_total", capability="tts", event="placed") == 1
        assert seen.delta("voicegate_holds_total", capability="tts", event="released") == 1
        assert seen.delta("voicegate_charges_total", capability="tts") == 0


class TestJobs:
    async def test_a_completed_job_counts_each_state_and_its_charge(
        self, client: httpx.AsyncClient, customer: Customer
    ) -> None:
        source = await upload(client, customer)
        async with Scrapes(client) as seen:
            job = (await submit(client, customer, "stt", source["url"])).json()
            assert (await wait_terminal(client, customer, "stt", job["job_id"]))["status"] == "completed"
        assert seen.delta("voicegate_job_transitions_total", capability="stt", state="pending") == 1
        assert seen.delta("voicegate_job_transitions_total", capability="stt", state="completed") == 1
        assert seen.delta("voicegate_job_transitions_total", capability="stt", state="failed") == 0
        assert seen.delta("voicegate_charges_total", capability="stt") == 1
        assert seen.delta("voicegate_holds_total", capability="stt", event="captured") == 1
        assert seen.delta("voicegate_upstream_latency_seconds_count", operation="stt.get", capability="stt") >= 1

    async def test_a_failed_job_counts_its_failure_and_released_hold(
        self, client: httpx.AsyncClient, simulator: httpx.AsyncClient, customer: Customer
    ) -> None:
        source = await upload(client, customer)
        await simulator.post("/_sim/faults", json={"path": ".", "mode": "job_fail", "count": 1})
        async with Scrapes(client) as seen:
            job = (await submit(client, customer, "stt", source["url"])).json()
            assert (await wait_terminal(client, customer, "stt", job["job_id"]))["status"] == "failed"
        assert seen.delta("voicegate_job_transitions_total", capability="stt", state="failed") == 1
        assert seen.delta("voicegate_holds_total", capability="stt", event="released") == 1
        assert seen.delta("voicegate_charges_total", capability="stt") == 0


class TestHoldSweep:
    async def test_the_sweep_releases_by_capability_and_refreshes_open_holds(
        self, app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, customer: Customer
    ) -> None:
        for ttl in (timedelta(seconds=-1), timedelta(hours=1)):  # one stale hold, one still in use
            request = ProviderResembleRequest(user_id=customer.user.id, capability="stt", operation="stt.submit")
            session.add(request)
            await session.flush()
            await ledger.place_hold(session, customer.user.id, request.id, Decimal("0.5"), ttl)
        await session.commit()
        async with Scrapes(client) as seen:
            assert await billing_tasks.sweep_holds(app.state.resources.sessionmaker) == 1
        assert seen.delta("voicegate_holds_total", capability="stt", event="released") == 1
        assert seen.now("voicegate_open_holds") == 1


class TestWebhookDeliveries:
    @pytest.mark.parametrize(("answer", "outcome"), [(204, "delivered"), (500, "retrying")])
    async def test_each_attempt_counts_by_outcome(
        self, app: FastAPI, client: httpx.AsyncClient, customer: Customer, answer: int, outcome: str
    ) -> None:
        sessionmaker = app.state.resources.sessionmaker
        async with sessionmaker() as db:
            payload = {"type": "job.completed", "data": {}}
            url = "http://127.0.0.1:9/hook"
            delivery = await webhooks.enqueue(
                db, user_id=customer.user.id, job_id=None, url=url, event_type="job.completed", payload=payload
            )
            await db.commit()
        receiver = httpx.AsyncClient(transport=httpx.MockTransport(lambda _: httpx.Response(answer)))
        async with Scrapes(client) as seen, receiver:
            got = await webhooks.deliver(sessionmaker, receiver, delivery.id, allow_private=True, max_attempts=3)
            assert got == outcome
        assert seen.delta("voicegate_webhook_deliveries_total", outcome=outcome) == 1


class TestBreaker:
    @pytest.fixture
    async def fragile(self, settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
        """A gateway whose circuit opens on the first failed call."""
        app = create_app(settings.model_copy(update={"resemble_breaker_failures": 1, "resemble_max_retries": 0}))
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http,
        ):
            yield app, http

    async def test_the_gauge_reads_closed_then_open(
        self, fragile: tuple[FastAPI, httpx.AsyncClient], session: AsyncSession, customer: Customer
    ) -> None:
        app, http = fragile
        assert value(await scrape(http), "voicegate_upstream_breaker_state") == 0
        simulator = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app.state.resources.simulator), base_url="http://sim"
        )
        async with simulator:
            await simulator.post("/_sim/faults", json={"path": "synthesize", "status": 503, "count": 1})
        assert (await http.post(SYNTH, json=SPEECH, headers=customer.headers)).status_code == 502
        assert value(await scrape(http), "voicegate_upstream_breaker_state") == 2
        assert (await http.post(SYNTH, json=SPEECH, headers=customer.headers)).status_code == 503
