"""Delivering outbound webhooks: signed Standard Webhooks requests, retries with backoff, the failed state,
idempotent enqueue, exactly-once attempts under concurrent workers, and secret rotation."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.factories import Customer, create_customer
from voicegate.db.models import ProviderResembleJob, User, WebhookDelivery
from voicegate.kit.time import utc_now
from voicegate.logging import build_formatter
from voicegate.webhooks import outbound, service

from .conftest import HOOK_URL, Receiver, create_job, enqueue_committed, load, seconds_between

MAX_ATTEMPTS = 8


async def user_secret(sessionmaker: async_sessionmaker[AsyncSession], user_id: str) -> str:
    async with sessionmaker() as db:
        secret = await db.scalar(select(User.webhook_secret).where(User.id == user_id))
        assert secret is not None
        return secret


async def deliver(
    sessionmaker: async_sessionmaker[AsyncSession], http: httpx.AsyncClient, delivery_id: str, **kwargs: object
) -> str:
    options: dict[str, object] = {"allow_private": True, "max_attempts": MAX_ATTEMPTS}
    options.update(kwargs)
    return await service.deliver(sessionmaker, http, delivery_id, **options)  # type: ignore[arg-type]


class TestDeliver:
    async def test_sends_a_signed_standard_webhook(
        self,
        client: httpx.AsyncClient,
        customer: Customer,
        sessionmaker: async_sessionmaker[AsyncSession],
        receiver: Receiver,
        receiver_http: httpx.AsyncClient,
    ) -> None:
        payload = {"type": "job.completed", "data": {"job_id": "j1", "text": "héllo"}}
        delivery = await enqueue_committed(sessionmaker, customer.user.id, payload=payload)

        assert await deliver(sessionmaker, receiver_http, delivery.id) == "delivered"

        [received] = receiver.requests
        assert received.headers["content-type"] == "application/json"
        assert received.headers["webhook-id"] == delivery.id
        assert abs(int(received.headers["webhook-timestamp"]) - utc_now().timestamp()) < 60
        assert received.headers["webhook-signature"].startswith("v1,")
        assert json.loads(received.body) == payload
        # The secret was created on the fly; the user reads the same one through the API and can verify with it.
        secret = (await client.get("/api/v1/webhooks/secret", headers=customer.headers)).json()["secret"]
        assert Webhook(secret).verify(received.body, received.headers) == payload
        row = await load(sessionmaker, delivery.id)
        assert (row.status, row.attempts, row.last_status_code, row.last_error) == ("delivered", 1, 204, None)
        assert row.delivered_at is not None
        assert row.next_attempt_at is None

    async def test_retries_with_backoff_then_succeeds(
        self,
        customer: Customer,
        sessionmaker: async_sessionmaker[AsyncSession],
        receiver: Receiver,
        receiver_http: httpx.AsyncClient,
    ) -> None:
        receiver.fail_next = 3
        delivery = await enqueue_committed(sessionmaker, customer.user.id)
        now = utc_now()
        delays = []

        for _ in range(3):
            assert await deliver(sessionmaker, receiver_http, delivery.id, now=now) == "retrying"
            row = await load(sessionmaker, delivery.id)
            assert (row.status, row.last_status_code, row.last_error) == ("pending", 500, "receiver answered HTTP 500")
            delays.append(seconds_between(row.next_attempt_at, now))
            # Not due yet: nothing is sent.
            assert await deliver(sessionmaker, receiver_http, delivery.id, now=now + timedelta(seconds=5)) == "skipped"
            assert row.next_attempt_at is not None
            now = row.next_attempt_at
        assert await deliver(sessionmaker, receiver_http, delivery.id, now=now) == "delivered"

        assert 9 <= delays[0] <= 11.5
        assert 27 <= delays[1] <= 33.5
        assert 108 <= delays[2] <= 132.5
        row = await load(sessionmaker, delivery.id)
        assert (row.status, row.attempts, row.last_status_code, row.last_error) == ("delivered", 4, 204, None)
        assert len(receiver.requests) == 4
        assert {r.headers["webhook-id"] for r in receiver.requests} == {delivery.id}
        assert len({r.body for r in receiver.requests}) == 1
        secret = await user_secret(sessionmaker, customer.user.id)
        for received in receiver.requests:  # the backoff steps add up to ~3 minutes: within the library's tolerance
            Webhook(secret).verify(received.body, received.headers)

    async def test_fails_after_max_attempts(
        self,
        customer: Customer,
        sessionmaker: async_sessionmaker[AsyncSession],
        receiver: Receiver,
        receiver_http: httpx.AsyncClient,
    ) -> None:
        receiver.fail_next, receiver.fail_status = 100, 503
        delivery = await enqueue_committed(sessionmaker, customer.user.id)
        now = utc_now()

        outcomes = []
        for _ in range(3):
            outcomes.append(await deliver(sessionmaker, receiver_http, delivery.id, max_attempts=3, now=now))
            now += timedelta(days=1)
        outcomes.append(await deliver(sessionmaker, receiver_http, delivery.id, max_attempts=3, now=now))

        assert outcomes == ["retrying", "retrying", "failed", "skipped"]
        row = await load(sessionmaker, delivery.id)
        assert (row.status, row.attempts, row.last_status_code) == ("failed", 3, 503)
        assert row.next_attempt_at is None
        assert row.delivered_at is None
        assert len(receiver.requests) == 3

    async def test_a_private_target_is_refused_without_sending(
        self,
        customer: Customer,
        sessionmaker: async_sessionmaker[AsyncSession],
        receiver: Receiver,
        receiver_http: httpx.AsyncClient,
    ) -> None:
        delivery = await enqueue_committed(sessionmaker, customer.user.id)

        assert await deliver(sessionmaker, receiver_http, delivery.id, allow_private=False) == "retrying"

        assert receiver.requests == []
        row = await load(sessionmaker, delivery.id)
        assert row.last_status_code is None
        assert row.last_error == "callback_uri must be a public http(s) URL: 127.0.0.1 is a loopback address"
        assert row.attempts == 1

    async def test_redirects_are_not_followed(
        self, customer: Customer, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        requested: list[str] = []

        def redirecting(request: httpx.Request) -> httpx.Response:
            requested.append(str(request.url))
            return httpx.Response(307, headers={"location": "http://127.0.0.1:9/elsewhere"})

        delivery = await enqueue_committed(sessionmaker, customer.user.id)
        async with httpx.AsyncClient(transport=httpx.MockTransport(redirecting)) as http:
            assert await deliver(sessionmaker, http, delivery.id) == "retrying"

        assert requested == [HOOK_URL]
        assert (await load(sessionmaker, delivery.id)).last_status_code == 307

    async def test_an_unreachable_receiver_is_recorded(
        self, customer: Customer, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        def unreachable(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("connection refused", request=request)

        delivery = await enqueue_committed(sessionmaker, customer.user.id)
        async with httpx.AsyncClient(transport=httpx.MockTransport(unreachable)) as http:
            assert await deliver(sessionmaker, http, delivery.id) == "retrying"

        row = await load(sessionmaker, delivery.id)
        assert row.last_status_code is None
        assert row.last_error == "could not fetch callback_uri: connection failed (ConnectError)"

    async def test_rotation_changes_the_signature_of_the_next_attempt(
        self,
        client: httpx.AsyncClient,
        customer: Customer,
        sessionmaker: async_sessionmaker[AsyncSession],
        receiver: Receiver,
        receiver_http: httpx.AsyncClient,
    ) -> None:
        old = (await client.get("/api/v1/webhooks/secret", headers=customer.headers)).json()["secret"]
        receiver.fail_next = 1
        delivery = await enqueue_committed(sessionmaker, customer.user.id)
        now = utc_now()
        assert await deliver(sessionmaker, receiver_http, delivery.id, now=now) == "retrying"

        new = (await client.post("/api/v1/webhooks/secret/rotate", headers=customer.headers)).json()["secret"]
        assert await deliver(sessionmaker, receiver_http, delivery.id, now=now + timedelta(minutes=1)) == "delivered"

        first, second = receiver.requests
        Webhook(old).verify(first.body, first.headers)
        Webhook(new).verify(second.body, second.headers)
        with pytest.raises(WebhookVerificationError):
            Webhook(old).verify(second.body, second.headers)
        assert first.headers["webhook-signature"] != second.headers["webhook-signature"]

    async def test_logs_ids_but_never_the_secret_or_the_body(
        self,
        customer: Customer,
        sessionmaker: async_sessionmaker[AsyncSession],
        receiver: Receiver,
        receiver_http: httpx.AsyncClient,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        receiver.fail_next = 1
        delivery = await enqueue_committed(sessionmaker, customer.user.id, payload={"marker": "TOP-SECRET-PAYLOAD"})
        caplog.set_level(logging.DEBUG, logger="voicegate")

        await deliver(sessionmaker, receiver_http, delivery.id)

        secret = await user_secret(sessionmaker, customer.user.id)
        rendered = "\n".join(build_formatter("json").format(record) for record in caplog.records)
        [attempt] = [json.loads(line) for line in rendered.splitlines() if '"webhook_attempt"' in line]
        assert attempt["delivery_id"] == delivery.id
        assert attempt["user_id"] == customer.user.id
        assert (attempt["attempt"], attempt["outcome"], attempt["status_code"]) == (1, "retrying", 500)
        assert attempt["level"] == "warning"
        assert secret not in rendered
        assert secret.removeprefix("whsec_") not in rendered
        assert "TOP-SECRET-PAYLOAD" not in rendered


class TestEnqueue:
    async def test_one_delivery_per_job_and_the_callers_transaction_survives(
        self, customer: Customer, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        async with sessionmaker() as db:
            job_id = await create_job(db, customer.user.id)
            first = await service.enqueue(
                db, user_id=customer.user.id, job_id=job_id, url=HOOK_URL, event_type="job.completed", payload={"a": 1}
            )
            second = await service.enqueue(
                db, user_id=customer.user.id, job_id=job_id, url=HOOK_URL, event_type="job.completed", payload={"a": 2}
            )
            assert second.id == first.id
            # The caller's earlier work (the job row) and later work are still committed together.
            other_job = await create_job(db, customer.user.id)
            await db.commit()

        async with sessionmaker() as db:
            again = await service.enqueue(
                db, user_id=customer.user.id, job_id=job_id, url=HOOK_URL, event_type="job.failed", payload={"a": 3}
            )
            await db.commit()
        assert again.id == first.id
        assert json.loads(again.payload) == {"a": 1}

        async with sessionmaker() as db:
            count = await db.scalar(select(func.count()).select_from(WebhookDelivery))
            assert count == 1
            assert await db.get(WebhookDelivery, first.id) is not None
            assert await db.get(ProviderResembleJob, other_job) is not None

    async def test_deliveries_without_a_job_are_independent(
        self, customer: Customer, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        first = await enqueue_committed(sessionmaker, customer.user.id)
        second = await enqueue_committed(sessionmaker, customer.user.id)

        assert first.id != second.id
        assert first.status == "pending"
        assert first.attempts == 0
        assert first.next_attempt_at is not None

    async def test_enqueue_only_flushes(
        self, customer: Customer, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        async with sessionmaker() as db:
            delivery = await service.enqueue(
                db, user_id=customer.user.id, job_id=None, url=HOOK_URL, event_type="job.completed", payload={}
            )
            await db.rollback()

        async with sessionmaker() as db:
            assert await db.get(WebhookDelivery, delivery.id) is None

    async def test_the_stored_body_is_what_is_signed_and_sent(
        self,
        customer: Customer,
        sessionmaker: async_sessionmaker[AsyncSession],
        receiver: Receiver,
        receiver_http: httpx.AsyncClient,
    ) -> None:
        when = utc_now()
        delivery = await enqueue_committed(sessionmaker, customer.user.id, payload={"at": when, "n": 1})  # type: ignore[dict-item]

        await deliver(sessionmaker, receiver_http, delivery.id)

        assert receiver.requests[0].body == delivery.payload.encode()
        assert json.loads(delivery.payload)["at"].endswith("Z")


class TestDeliverDue:
    async def test_sends_only_what_is_due(
        self,
        customer: Customer,
        sessionmaker: async_sessionmaker[AsyncSession],
        receiver: Receiver,
        receiver_http: httpx.AsyncClient,
    ) -> None:
        due = await enqueue_committed(sessionmaker, customer.user.id)
        later = await enqueue_committed(sessionmaker, customer.user.id)
        async with sessionmaker() as db:
            row = await db.get(WebhookDelivery, later.id)
            assert row is not None
            row.next_attempt_at = utc_now() + timedelta(minutes=5)
            await db.commit()

        sent = await service.deliver_due(sessionmaker, receiver_http, allow_private=True, max_attempts=MAX_ATTEMPTS)

        assert sent == 1
        assert [r.headers["webhook-id"] for r in receiver.requests] == [due.id]
        assert (await load(sessionmaker, later.id)).status == "pending"

    async def test_concurrent_workers_send_each_attempt_once(
        self,
        customer: Customer,
        sessionmaker: async_sessionmaker[AsyncSession],
        receiver: Receiver,
        receiver_http: httpx.AsyncClient,
    ) -> None:
        ids = {(await enqueue_committed(sessionmaker, customer.user.id)).id for _ in range(6)}

        results = await asyncio.gather(
            *(
                service.deliver_due(sessionmaker, receiver_http, allow_private=True, max_attempts=MAX_ATTEMPTS)
                for _ in range(4)
            )
        )

        assert sum(results) == 6
        assert sorted(r.headers["webhook-id"] for r in receiver.requests) == sorted(ids)
        for delivery_id in ids:
            row = await load(sessionmaker, delivery_id)
            assert (row.status, row.attempts) == ("delivered", 1)

    async def test_one_crash_does_not_stop_the_others(
        self,
        customer: Customer,
        session: AsyncSession,
        sessionmaker: async_sessionmaker[AsyncSession],
        receiver: Receiver,
        receiver_http: httpx.AsyncClient,
        monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        other = await create_customer(session)
        doomed = await enqueue_committed(sessionmaker, other.user.id, url="http://127.0.0.1:9/crash")
        fine = [(await enqueue_committed(sessionmaker, customer.user.id)).id for _ in range(2)]
        real_send = outbound.send

        async def send(http: httpx.AsyncClient, url: str, **kwargs: object) -> outbound.AttemptResult:
            if url.endswith("/crash"):
                raise RuntimeError("boom")
            return await real_send(http, url, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(outbound, "send", send)

        sent = await service.deliver_due(sessionmaker, receiver_http, allow_private=True, max_attempts=MAX_ATTEMPTS)

        assert sent == 2
        assert sorted(r.headers["webhook-id"] for r in receiver.requests) == sorted(fine)
        [crashed] = [r for r in caplog.records if r.getMessage() == "webhook_delivery_crashed"]
        assert crashed.delivery_id == doomed.id  # type: ignore[attr-defined]

    async def test_nothing_due(
        self, sessionmaker: async_sessionmaker[AsyncSession], receiver_http: httpx.AsyncClient
    ) -> None:
        assert await service.deliver_due(sessionmaker, receiver_http, allow_private=True, max_attempts=3) == 0


class TestBackoff:
    @pytest.mark.parametrize(
        ("failures", "base_s"),
        [(1, 10), (2, 30), (3, 120), (4, 600), (5, 1800), (6, 3600), (7, 3 * 3600), (8, 6 * 3600), (20, 6 * 3600)],
    )
    def test_schedule_with_jitter(self, failures: int, base_s: int) -> None:
        rng = random.Random(failures)
        delays = [outbound.backoff_delay(failures, rng).total_seconds() for _ in range(50)]

        assert all(base_s * 0.9 <= d <= base_s * 1.1 for d in delays)
        assert len(set(delays)) > 1
