"""A receiver for outbound webhooks (a FastAPI app reached through httpx's ASGI transport) and row helpers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import Customer, create_customer
from voicegate.db.models import ProviderResembleJob, ProviderResembleRequest, WebhookDelivery
from voicegate.jobs import registry
from voicegate.webhooks import service

# ASGITransport ignores the address; a literal loopback IP needs no DNS, and allow_private=True lets it through.
HOOK_URL = "http://127.0.0.1:9/hook"


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Records every POST to /hook; answers `fail_status` for the next `fail_next` requests, then 204."""

    requests: list[Received] = field(default_factory=list)
    fail_next: int = 0
    fail_status: int = 500

    def build(self) -> FastAPI:
        app = FastAPI()

        @app.post("/hook")
        async def hook(request: Request) -> Response:
            self.requests.append(Received(dict(request.headers), await request.body()))
            if self.fail_next > 0:
                self.fail_next -= 1
                return Response("receiver is down", status_code=self.fail_status)
            return Response(status_code=204)

        return app


@pytest.fixture(autouse=True)
def no_background_delivery(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app's maintenance loop delivers due webhooks every few seconds; here the tests drive every attempt."""

    async def idle(state: object) -> int:
        return 0

    monkeypatch.setitem(registry.TASKS, "webhooks.deliver_due", registry.periodic("webhooks.deliver_due", 5.0, idle))


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
async def receiver_http(receiver: Receiver) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver.build())) as http:
        yield http


@pytest.fixture
def sessionmaker(app: FastAPI) -> async_sessionmaker[AsyncSession]:
    maker: async_sessionmaker[AsyncSession] = app.state.resources.sessionmaker
    return maker


@pytest.fixture
async def customer(session: AsyncSession) -> Customer:
    return await create_customer(session)


async def enqueue_committed(
    sessionmaker: async_sessionmaker[AsyncSession],
    user_id: str,
    *,
    url: str = HOOK_URL,
    job_id: str | None = None,
    payload: dict[str, Any] | None = None,
    event_type: str = "job.completed",
) -> WebhookDelivery:
    async with sessionmaker() as db:
        delivery = await service.enqueue(
            db,
            user_id=user_id,
            job_id=job_id,
            url=url,
            event_type=event_type,
            payload=payload if payload is not None else {"type": event_type, "data": {"n": 1}},
        )
        await db.commit()
        return delivery


async def load(sessionmaker: async_sessionmaker[AsyncSession], delivery_id: str) -> WebhookDelivery:
    async with sessionmaker() as db:
        row = await db.scalar(select(WebhookDelivery).where(WebhookDelivery.id == delivery_id))
        assert row is not None
        return row


async def create_job(db: AsyncSession, user_id: str) -> str:
    request = ProviderResembleRequest(user_id=user_id, capability="stt", operation="stt.create")
    db.add(request)
    await db.flush()
    job = ProviderResembleJob(user_id=user_id, request_id=request.id, capability="stt")
    db.add(job)
    await db.flush()
    return job.id


def seconds_between(later: datetime | None, earlier: datetime) -> float:
    assert later is not None
    return (later - earlier).total_seconds()
