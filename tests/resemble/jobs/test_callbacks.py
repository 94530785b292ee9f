"""Completion by callback and by the poller, and the race between all three ways a job can end."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI, Request
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import create_customer
from tests.resemble.jobs.helpers import open_edit_job, submit, upload, wait_terminal
from voicegate.app import create_app
from voicegate.config import Settings
from voicegate.db.models import (
    LedgerEntry,
    ProviderResembleAsset,
    ProviderResembleJob,
    ProviderResembleUsage,
    ProviderResembleWebhookEvent,
    User,
)
from voicegate.resemble.jobs.tasks import poll_open_jobs

SECRET = "resemble-webhook-secret-for-tests"


async def count(session: AsyncSession, model: type, **where: object) -> int:
    statement = select(func.count()).select_from(model)
    for field, value in where.items():
        statement = statement.where(getattr(model, field) == value)
    return int(await session.scalar(statement) or 0)


@pytest.fixture
async def quiet(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """A gateway that learns of completion only when the test says so: its poller stays idle and the simulator's
    own callbacks are lost on the way (edit jobs upload bytes, so the simulator needs no other outbound call)."""
    app = create_app(settings.model_copy(update={"job_poll_every_s": 3600}))
    async with app.router.lifespan_context(app):
        lost = httpx.MockTransport(lambda request: httpx.Response(503))
        app.state.resources.simulator.state.gateway_outbound._transport = (
            lost  # test-only: cut the simulator's line to us
        )
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
            yield app, http


@pytest.fixture
async def signed(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(settings.model_copy(update={"resemble_webhook_secret": SecretStr(SECRET)}))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
            yield app, http


class TestExactlyOnce:
    async def test_twenty_gets_and_five_callbacks_bill_and_mirror_once(
        self, quiet: tuple[FastAPI, httpx.AsyncClient], session: AsyncSession
    ):
        app, http = quiet
        customer, job, token = await open_edit_job(http, session)
        await asyncio.sleep(app.state.settings.simulator_job_delay_s + 0.7)  # done upstream, still open here
        upstream_id = await session.scalar(
            select(ProviderResembleJob.upstream_id).where(ProviderResembleJob.id == job["job_id"])
        )
        sim = httpx.AsyncClient(transport=httpx.ASGITransport(app=app.state.resources.simulator), base_url="http://sim")
        body = (await sim.get(f"/api/v2/edit/{upstream_id}", headers={"Authorization": "Bearer x"})).content
        assert json.loads(body)["item"]["result_audio_url"]  # finished upstream...
        state = await session.scalar(select(ProviderResembleJob.status).where(ProviderResembleJob.id == job["job_id"]))
        assert state in ("pending", "processing")  # ...but still open here, so the burst below really races

        gets = [http.get(f"/api/v1/resemble/edit/{job['job_id']}", headers=customer.headers) for _ in range(20)]
        hooks = [http.post(f"/api/v1/webhooks/resemble/{token}", content=body) for _ in range(5)]
        responses = await asyncio.gather(*gets, *hooks)

        assert all(r.status_code == 200 for r in responses[:20]), [
            r.text for r in responses[:20] if r.status_code != 200
        ]
        assert all(r.status_code == 202 for r in responses[20:])
        user_id = customer.user.id
        assert await count(session, ProviderResembleUsage, user_id=user_id) == 1
        captures = await session.scalar(
            select(func.count())
            .select_from(LedgerEntry)
            .where(LedgerEntry.user_id == user_id, LedgerEntry.kind.in_(("capture", "charge")))
        )
        assert captures == 1
        assert await count(session, ProviderResembleAsset, job_id=job["job_id"]) == 1
        assert await count(session, ProviderResembleWebhookEvent, job_id=job["job_id"]) == 1
        charged = Decimal(responses[0].json()["billing"]["charged"])
        balance = await session.scalar(select(User.balance_usd).where(User.id == user_id))
        assert balance == Decimal(10) - charged
        urls = {r.json()["audio_url"].split("?")[0] for r in responses[:20]}
        assert len(urls) == 1

    async def test_ten_deliveries_of_one_callback_bill_once(
        self, quiet: tuple[FastAPI, httpx.AsyncClient], session: AsyncSession
    ):
        app, http = quiet
        customer, job, token = await open_edit_job(http, session)
        await asyncio.sleep(app.state.settings.simulator_job_delay_s + 0.2)
        payload = json.dumps({"success": True, "item": {"uuid": "whatever"}}).encode()
        answers = [await http.post(f"/api/v1/webhooks/resemble/{token}", content=payload) for _ in range(10)]
        assert [a.json()["duplicate"] for a in answers] == [False] + [True] * 9
        assert await count(session, ProviderResembleUsage, user_id=customer.user.id) == 1
        assert await count(session, ProviderResembleWebhookEvent, job_id=job["job_id"]) == 1

    async def test_the_callback_body_is_not_trusted(
        self, quiet: tuple[FastAPI, httpx.AsyncClient], session: AsyncSession
    ):
        app, http = quiet
        sim = httpx.AsyncClient(transport=httpx.ASGITransport(app=app.state.resources.simulator), base_url="http://sim")
        await sim.post("/_sim/faults", json={"path": "edit", "mode": "job_hang", "count": 1})
        customer, job, token = await open_edit_job(http, session)
        forged = json.dumps({"item": {"uuid": "x", "result_audio_url": "https://evil.example/a.wav"}}).encode()
        await http.post(f"/api/v1/webhooks/resemble/{token}", content=forged)  # Resemble never finishes this one
        state = await session.scalar(select(ProviderResembleJob.status).where(ProviderResembleJob.id == job["job_id"]))
        assert state in ("pending", "processing")
        assert await count(session, ProviderResembleUsage, user_id=customer.user.id) == 0


class TestSignatures:
    async def test_bad_signature_is_401_and_stores_nothing(
        self, signed: tuple[FastAPI, httpx.AsyncClient], session: AsyncSession
    ):
        app, http = signed
        # Only the forged callbacks below may arrive: the simulator's own, correctly signed, is lost on the way
        # (on a slow machine it could otherwise land before the count and be taken for a forged one).
        app.state.resources.simulator.state.gateway_outbound._transport = httpx.MockTransport(
            lambda request: httpx.Response(503)
        )
        _, job, token = await open_edit_job(http, session)
        body = b'{"item": {}}'
        bad = await http.post(
            f"/api/v1/webhooks/resemble/{token}", content=body, headers={"X-Resemble-Signature": "00" * 32}
        )
        missing = await http.post(f"/api/v1/webhooks/resemble/{token}", content=body)
        assert (bad.status_code, missing.status_code) == (401, 401)
        assert await count(session, ProviderResembleWebhookEvent, job_id=job["job_id"]) == 0

    async def test_good_signature_is_accepted(self, signed: tuple[FastAPI, httpx.AsyncClient], session: AsyncSession):
        _, http = signed
        _, _, token = await open_edit_job(http, session)
        body = b'{"item": {"uuid": "u"}}'
        digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        response = await http.post(
            f"/api/v1/webhooks/resemble/{token}", content=body, headers={"X-Resemble-Signature": digest}
        )
        assert response.status_code == 202
        assert response.json()["signed"] is True

    async def test_simulator_signed_callback_completes_the_job(
        self, signed: tuple[FastAPI, httpx.AsyncClient], session: AsyncSession
    ):
        _, http = signed
        _, job, _ = await open_edit_job(http, session)
        for _ in range(50):
            await asyncio.sleep(0.1)
            status = await session.scalar(
                select(ProviderResembleJob.status).where(ProviderResembleJob.id == job["job_id"])
            )
            if status == "completed":
                break
        assert status == "completed"
        events = await session.scalar(
            select(func.count())
            .select_from(ProviderResembleWebhookEvent)
            .where(
                ProviderResembleWebhookEvent.job_id == job["job_id"],
                ProviderResembleWebhookEvent.signature_valid.is_(True),
            )
        )
        assert events >= 1

    async def test_unknown_token_is_404(self, client: httpx.AsyncClient):
        response = await client.post("/api/v1/webhooks/resemble/" + "x" * 40, content=b"{}")
        assert response.status_code == 404


class TestPoller:
    async def test_poller_completes_and_bills_jobs_nobody_asked_about(
        self, app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
    ):
        customer = await create_customer(session)
        source = await upload(client, customer)
        job = (await submit(client, customer, "enhance", source["url"])).json()
        await asyncio.sleep(app.state.settings.simulator_job_delay_s + 0.2)
        assert await poll_open_jobs(app.state.resources) >= 1
        status = await session.scalar(select(ProviderResembleJob.status).where(ProviderResembleJob.id == job["job_id"]))
        assert status == "completed"
        assert await count(session, ProviderResembleUsage, user_id=customer.user.id) == 1
        done = await wait_terminal(client, customer, "enhance", job["job_id"])
        assert done["audio_url"]

    async def test_an_upstream_fault_on_a_poll_is_a_warning_and_the_next_poll_settles(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        session: AsyncSession,
        simulator: httpx.AsyncClient,
        caplog: pytest.LogCaptureFixture,
    ):
        customer = await create_customer(session)
        source = await upload(client, customer)
        assert (await submit(client, customer, "enhance", source["url"])).status_code == 201
        await asyncio.sleep(app.state.settings.simulator_job_delay_s + 0.2)
        await simulator.post("/_sim/faults", json={"path": "audio_enhancements/", "status": 500, "count": -1})
        with caplog.at_level(logging.WARNING, logger="voicegate.resemble.jobs.tasks"):
            await poll_open_jobs(app.state.resources)
        failures = [r for r in caplog.records if r.getMessage() == "job_poll_failed"]
        assert failures
        assert all(r.levelno == logging.WARNING and r.exc_info is None for r in failures)
        assert failures[0].__dict__["error"] == "UpstreamFault"
        assert await count(session, ProviderResembleUsage, user_id=customer.user.id) == 0

        await simulator.delete("/_sim/faults")
        await poll_open_jobs(app.state.resources)
        assert await count(session, ProviderResembleUsage, user_id=customer.user.id) == 1


class TestForwardingToTheUser:
    async def test_final_result_reaches_callback_uri_signed_as_standard_webhooks(
        self, settings: Settings, session: AsyncSession
    ):
        from standardwebhooks.webhooks import Webhook

        from voicegate.webhooks.tasks import deliver_due

        received: list[tuple[dict[str, str], bytes]] = []
        receiver = FastAPI()

        @receiver.post("/hook")
        async def hook(request: Request) -> dict[str, bool]:
            received.append((dict(request.headers), await request.body()))
            return {"ok": True}

        app = create_app(settings.model_copy(update={"outbound_allow_private_networks": True}))
        async with app.router.lifespan_context(app):
            # test-only: the webhook client's line leads to the receiver, for the scheduler and the explicit call alike
            app.state.resources.webhook_http._transport = httpx.ASGITransport(app=receiver)
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
                customer = await create_customer(session)
                source = await upload(http, customer)
                created = await submit(http, customer, "stt", source["url"], callback_uri="http://127.0.0.1:9/hook")
                done = await wait_terminal(http, customer, "stt", created.json()["job_id"])
                await deliver_due(app.state.resources)  # the scheduler may have sent it already: either way, once
                secret = (await http.get("/api/v1/webhooks/secret", headers=customer.headers)).json()["secret"]
                deliveries = (await http.get("/api/v1/webhooks/deliveries", headers=customer.headers)).json()

        assert len(received) == 1
        headers, body = received[0]
        Webhook(secret).verify(body, headers)
        event = json.loads(body)
        assert event["type"] == "job.completed"
        assert event["data"]["job_id"] == done["job_id"]
        assert event["data"]["billing"] == done["billing"]
        assert event["data"]["result"]["text"]
        assert deliveries["items"][0]["status"] == "delivered"
