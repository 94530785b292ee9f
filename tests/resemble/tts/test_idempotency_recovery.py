"""A claim on an `Idempotency-Key` whose request died (the database went away mid-request) does not block the key
forever, and never lets a retry charge twice: once it is older than the lease, a retry runs if nothing was charged,
is told so if something was, and waits while the request's credit hold is still open."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import Customer
from voicegate.billing import ledger
from voicegate.billing.idempotency import CLAIM_LEASE
from voicegate.db.models import CreditHold, IdempotencyKey, ProviderResembleRequest, ProviderResembleUsage, User
from voicegate.kit.time import utc_now

URL = "/api/v1/resemble/tts/synthesize"


async def state(session: AsyncSession, user_id: str) -> tuple[Decimal, int]:
    await session.commit()  # a fresh snapshot (the session does not expire on commit)
    balance = await session.scalar(select(User.balance_usd).where(User.id == user_id))
    usage = await session.scalar(select(func.count()).where(ProviderResembleUsage.user_id == user_id))
    assert balance is not None
    return balance, int(usage or 0)


async def abandon(session: AsyncSession, user_id: str, key: str, *, age: timedelta, **values: object) -> None:
    """Make the claim look like what a request that died leaves behind: in progress, no response, `age` old."""
    await session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
        .values(status="in_progress", response_status=None, response_body=None, created_at=utc_now() - age, **values)
    )
    await session.commit()


async def claim(session: AsyncSession, user_id: str, key: str) -> IdempotencyKey:
    await session.commit()
    row = await session.scalar(
        select(IdempotencyKey)
        .where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
        .execution_options(populate_existing=True)
    )
    assert row is not None
    return row


class TestTheClaimKnowsItsRequest:
    async def test_a_completed_claim_is_linked_to_the_request_it_billed(
        self, client: httpx.AsyncClient, session: AsyncSession, customer: Customer, voice_uuid: str
    ):
        headers = {**customer.headers, "Idempotency-Key": "linked"}
        response = await client.post(URL, json={"voice_uuid": voice_uuid, "text": "Linked."}, headers=headers)
        assert response.status_code == 200
        assert (await claim(session, customer.user.id, "linked")).request_id == response.json()["request_id"]


class TestAnAbandonedClaim:
    async def test_is_still_in_progress_within_the_lease(
        self, client: httpx.AsyncClient, session: AsyncSession, customer: Customer, voice_uuid: str
    ):
        body = {"voice_uuid": voice_uuid, "text": "Young claim."}
        headers = {**customer.headers, "Idempotency-Key": "young"}
        assert (await client.post(URL, json=body, headers=headers)).status_code == 200
        await abandon(session, customer.user.id, "young", age=CLAIM_LEASE / 2, request_id=None)
        retry = await client.post(URL, json=body, headers=headers)
        assert retry.status_code == 409
        assert "in progress" in retry.json()["detail"]

    async def test_that_never_held_credit_is_taken_over_and_charged_once(
        self, client: httpx.AsyncClient, session: AsyncSession, customer: Customer, voice_uuid: str
    ):
        body = {"voice_uuid": voice_uuid, "text": "Nothing was charged for me."}
        headers = {**customer.headers, "Idempotency-Key": "never-held"}
        first = await client.post(URL, json=body, headers=headers)
        assert first.status_code == 200
        # Make it look as if the first attempt died before its hold (no request linked): a retry runs and charges.
        await abandon(session, customer.user.id, "never-held", age=CLAIM_LEASE * 2, request_id=None)
        before = await state(session, customer.user.id)

        retry = await client.post(URL, json=body, headers=headers)
        replay = await client.post(URL, json=body, headers=headers)

        assert retry.status_code == 200, retry.text
        assert "Idempotent-Replayed" not in retry.headers
        charged = Decimal(retry.json()["billing"]["charged"])
        assert await state(session, customer.user.id) == (before[0] - charged, before[1] + 1)
        assert replay.headers["Idempotent-Replayed"] == "true"
        assert replay.json()["request_id"] == retry.json()["request_id"]
        assert (await claim(session, customer.user.id, "never-held")).request_id == retry.json()["request_id"]

    async def test_that_was_charged_is_never_charged_again(
        self, client: httpx.AsyncClient, session: AsyncSession, customer: Customer, voice_uuid: str
    ):
        body = {"voice_uuid": voice_uuid, "text": "Charged, then the answer was lost."}
        headers = {**customer.headers, "Idempotency-Key": "charged"}
        first = await client.post(URL, json=body, headers=headers)
        await abandon(session, customer.user.id, "charged", age=CLAIM_LEASE * 2)  # linked to a succeeded request
        before = await state(session, customer.user.id)

        retry = await client.post(URL, json=body, headers=headers)

        assert retry.status_code == 409
        assert first.json()["request_id"] in retry.json()["detail"]
        assert "not be charged again" in retry.json()["detail"]
        assert await state(session, customer.user.id) == before

    async def test_whose_hold_is_open_waits_for_the_sweep_then_runs(
        self, client: httpx.AsyncClient, session: AsyncSession, customer: Customer, voice_uuid: str
    ):
        body = {"voice_uuid": voice_uuid, "text": "My hold outlived me."}
        headers = {**customer.headers, "Idempotency-Key": "held"}
        first = await client.post(URL, json=body, headers=headers)
        request_id = first.json()["request_id"]
        # What a request cut off between its hold and its capture leaves: the request pending, the hold held.
        await abandon(session, customer.user.id, "held", age=CLAIM_LEASE * 2)
        await session.execute(update(CreditHold).where(CreditHold.correlation_id == request_id).values(status="held"))
        await session.execute(
            update(ProviderResembleRequest).where(ProviderResembleRequest.id == request_id).values(status="pending")
        )
        await session.commit()

        waiting = await client.post(URL, json=body, headers=headers)
        assert waiting.status_code == 409
        assert "in progress" in waiting.json()["detail"]

        released = await ledger.sweep_expired_holds(session, now=utc_now() + timedelta(days=2))
        assert released >= 1
        retry = await client.post(URL, json=body, headers=headers)
        assert retry.status_code == 200, retry.text
        assert retry.json()["request_id"] != request_id

    async def test_two_retries_racing_for_it_run_once(
        self, client: httpx.AsyncClient, session: AsyncSession, customer: Customer, voice_uuid: str
    ):
        body = {"voice_uuid": voice_uuid, "text": "Only one of you."}
        headers = {**customer.headers, "Idempotency-Key": "race"}
        assert (await client.post(URL, json=body, headers=headers)).status_code == 200
        await abandon(session, customer.user.id, "race", age=CLAIM_LEASE * 2, request_id=None)
        before = await state(session, customer.user.id)

        answers = await asyncio.gather(*(client.post(URL, json=body, headers=headers) for _ in range(4)))

        statuses = sorted(answer.status_code for answer in answers)
        assert statuses.count(200) >= 1
        assert set(statuses) <= {200, 409}
        fresh = [
            answer for answer in answers if answer.status_code == 200 and "Idempotent-Replayed" not in answer.headers
        ]
        assert len(fresh) == 1
        assert (await state(session, customer.user.id))[1] == before[1] + 1
