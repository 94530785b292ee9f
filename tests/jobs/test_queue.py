"""Work a request starts is sent once the request's transaction commits, and never when it rolls back."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from tests.resemble.jobs.helpers import open_edit_job
from voicegate.app import create_app
from voicegate.config import Settings
from voicegate.db.models import ProviderResembleWebhookEvent
from voicegate.jobs.queue import PENDING, after_commit


class Recorder:
    """Stands in for the Celery app: what `send_task` was asked to send."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, list[Any]]] = []

    def send_task(self, name: str, args: list[Any]) -> None:
        self.sent.append((name, args))


@pytest.fixture
async def celery_mode(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient, Recorder]]:
    """A gateway with SCHEDULER=celery whose broker is a recorder, its poller idle and the simulator's callbacks
    lost, so only the test's own callback reaches the route."""
    app = create_app(
        settings.model_copy(update={"scheduler": "celery", "celery_broker_url": "memory://", "job_poll_every_s": 3600})
    )
    recorder = Recorder()
    async with app.router.lifespan_context(app):
        app.state.resources.simulator.state.gateway_outbound._transport = httpx.MockTransport(
            lambda request: httpx.Response(503)  # test-only: cut the simulator's line to us
        )
        app.state.resources = dataclasses.replace(app.state.resources, task_sender=recorder)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
            yield app, http, recorder


@pytest.fixture
def commits_fail() -> Iterator[None]:
    """Every commit of a transaction that enqueued work fails, as a database outage at that moment would."""

    def refuse(session: Session) -> None:
        if session.info.get(PENDING):
            raise OperationalError("COMMIT", {}, Exception("database unavailable"))

    event.listen(Session, "before_commit", refuse)
    yield
    event.remove(Session, "before_commit", refuse)


class TestAfterCommit:
    async def test_a_commit_sends_and_a_rollback_drops(self, app: FastAPI) -> None:
        sent: list[str] = []
        async with app.state.resources.sessionmaker() as session:
            await session.execute(select(1))
            after_commit(session, lambda: sent.append("committed"))
            assert sent == []  # parked until the commit
            await session.commit()
            assert sent == ["committed"]
            await session.execute(select(1))
            after_commit(session, lambda: sent.append("rolled back"))
            await session.rollback()
            await session.execute(select(1))
            await session.commit()  # a later commit does not resurrect dropped work
        assert sent == ["committed"]

    async def test_outside_a_transaction_is_refused(self, app: FastAPI) -> None:
        async with app.state.resources.sessionmaker() as session:
            with pytest.raises(RuntimeError, match="transaction"):
                after_commit(session, lambda: None)


class TestCallbackEnqueue:
    async def test_a_stored_callback_is_sent_to_the_broker_once_committed(
        self, celery_mode: tuple[FastAPI, httpx.AsyncClient, Recorder], session: AsyncSession
    ) -> None:
        _, http, recorder = celery_mode
        _, _, token = await open_edit_job(http, session)
        response = await http.post(f"/api/v1/webhooks/resemble/{token}", content=b'{"id": "x"}')
        assert response.status_code == 202, response.text
        stored = await session.scalar(
            select(ProviderResembleWebhookEvent.id).where(ProviderResembleWebhookEvent.payload == '{"id": "x"}')
        )
        assert recorder.sent == [("jobs.handle_callback", [stored])]

        again = await http.post(f"/api/v1/webhooks/resemble/{token}", content=b'{"id": "x"}')
        assert again.json()["duplicate"] is True
        assert len(recorder.sent) == 1  # a duplicate is not handled twice

    @pytest.mark.usefixtures("commits_fail")
    async def test_a_rolled_back_callback_sends_nothing(
        self, celery_mode: tuple[FastAPI, httpx.AsyncClient, Recorder], session: AsyncSession
    ) -> None:
        _, http, recorder = celery_mode
        _, _, token = await open_edit_job(http, session)
        response = await http.post(f"/api/v1/webhooks/resemble/{token}", content=b'{"id": "y"}')
        assert response.status_code == 503, response.text
        assert "detail" in response.json()
        assert recorder.sent == []
        assert await session.scalar(select(func.count()).select_from(ProviderResembleWebhookEvent)) == 0
