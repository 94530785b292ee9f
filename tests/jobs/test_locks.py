"""A periodic task run twice at once (two gateway replicas, a redelivered tick) has the effect of one run."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import create_customer
from tests.http_receiver import Receiver, receiver_fixture  # noqa: F401 - the `receiver` fixture
from tests.resemble.jobs.helpers import open_edit_job
from voicegate import metrics
from voicegate.app import create_app
from voicegate.config import Settings
from voicegate.db.models import ProviderResembleJob
from voicegate.jobs.locks import DatabaseTaskLocks, RedisTaskLocks, TaskLocks
from voicegate.jobs.runner import run_periodic, run_task
from voicegate.webhooks import service as webhooks


@pytest.fixture
async def idle_gateway(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """A gateway whose own loop polls nothing during the test and whose simulator's callbacks are lost."""
    app = create_app(settings.model_copy(update={"job_poll_every_s": 3600, "outbound_allow_private_networks": True}))
    async with app.router.lifespan_context(app):
        app.state.resources.simulator.state.gateway_outbound._transport = httpx.MockTransport(
            lambda request: httpx.Response(503)  # test-only: cut the simulator's line to us
        )
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
            yield app, http


async def _upstream_polls(app: FastAPI, upstream_id: str) -> int:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app.state.resources.simulator)) as sim:
        log = (await sim.get("http://sim/_sim/requests")).json()
    return sum(1 for entry in log if entry["method"] == "GET" and upstream_id in entry["path"])


async def _open_job(http: httpx.AsyncClient, session: AsyncSession) -> str:
    _, job, _ = await open_edit_job(http, session)
    upstream_id = await session.scalar(
        select(ProviderResembleJob.upstream_id).where(ProviderResembleJob.id == job["job_id"])
    )
    assert upstream_id
    return upstream_id


class TestConcurrentPeriodicRuns:
    async def test_two_polls_at_once_ask_upstream_once_per_job(
        self, idle_gateway: tuple[FastAPI, httpx.AsyncClient], session: AsyncSession
    ) -> None:
        app, http = idle_gateway
        upstream_id = await _open_job(http, session)
        resources = app.state.resources
        ran = await asyncio.gather(run_periodic(resources, "jobs.poll_open"), run_periodic(resources, "jobs.poll_open"))
        assert ran.count(None) == 1  # one of the two found the lock taken and skipped
        assert await _upstream_polls(app, upstream_id) == 1

    async def test_without_the_lock_both_would_poll(
        self, idle_gateway: tuple[FastAPI, httpx.AsyncClient], session: AsyncSession
    ) -> None:
        app, http = idle_gateway
        upstream_id = await _open_job(http, session)
        resources = app.state.resources
        await asyncio.gather(run_task(resources, "jobs.poll_open"), run_task(resources, "jobs.poll_open"))
        assert await _upstream_polls(app, upstream_id) == 2  # the control: what the lock prevents

    async def test_two_delivery_sweeps_at_once_deliver_once(
        self, idle_gateway: tuple[FastAPI, httpx.AsyncClient], session: AsyncSession, receiver: Receiver
    ) -> None:
        app, _ = idle_gateway
        customer = await create_customer(session)
        await webhooks.enqueue(
            session, user_id=customer.user.id, job_id=None, url=receiver.url, event_type="test.ping", payload={}
        )
        await session.commit()
        resources = app.state.resources
        await asyncio.gather(
            run_periodic(resources, "webhooks.deliver_due"), run_periodic(resources, "webhooks.deliver_due")
        )
        assert len(receiver.received) == 1

    async def test_runs_are_counted_by_task_and_outcome(self, app: FastAPI) -> None:
        def count(outcome: str) -> float:
            return metrics.task_runs.labels(task="billing.sweep_holds", outcome=outcome)._value.get()

        before = count("ok")
        await run_periodic(app.state.resources, "billing.sweep_holds")
        assert count("ok") == before + 1
        broken = dataclasses.replace(app.state.resources, sessionmaker=_refusing_sessionmaker)
        failed = count("failed")
        with pytest.raises(ConnectionError):
            await run_task(broken, "billing.sweep_holds")
        assert count("failed") == failed + 1


def _refusing_sessionmaker() -> AsyncSession:
    raise ConnectionError("database unavailable")


@pytest.fixture(params=["database", "redis"])
async def locks(request: pytest.FixtureRequest, app: FastAPI, redis_url: str | None) -> AsyncIterator[TaskLocks]:
    if request.param == "redis":
        if redis_url is None:
            pytest.skip("needs REDIS_URL")
        backend: TaskLocks = RedisTaskLocks(redis_url)
    else:
        backend = DatabaseTaskLocks(app.state.resources.sessionmaker)
    yield backend
    await backend.close()


class TestTaskLocks:
    async def test_one_holder_at_a_time_then_free_again(self, locks: TaskLocks) -> None:
        async with locks.hold("test.exclusive", 30) as first:
            async with locks.hold("test.exclusive", 30) as second:
                assert (first, second) == (True, False)
        async with locks.hold("test.exclusive", 30) as again:
            assert again is True

    async def test_a_lease_that_ran_out_can_be_taken(self, locks: TaskLocks) -> None:
        async with locks.hold("test.lease", 0.2) as first:
            assert first is True
            await asyncio.sleep(0.4)  # the holder outlived its lease (a crash would leave it so)
            async with locks.hold("test.lease", 30) as second:
                assert second is True
