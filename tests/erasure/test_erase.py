"""`DELETE /api/v1/admin/users/{id}`: one call erases a user's data here and at Resemble, and keeps the ledger."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.erasure.support import (
    Holdings,
    assert_nothing_reachable,
    erase,
    fetch_link,
    populate,
    report_of,
    upstream_status,
)
from tests.factories import ADMIN_HEADERS, Customer
from tests.resemble.jobs.helpers import submit, upload
from tests.resemble.projects.conftest import create_project
from voicegate.db.models import (
    ApiKey,
    CreditHold,
    LedgerEntry,
    ProviderResembleAsset,
    ProviderResembleJob,
    ProviderResembleRequest,
    ProviderResembleUsage,
    User,
    UserErasure,
)
from voicegate.erasure import repository as erasures
from voicegate.kit.time import utc_now
from voicegate.resemble.voices.subscriptions import RenewalReport, renew_all

pytestmark = pytest.mark.usefixtures("business_plan")


@pytest.fixture
async def held(app: FastAPI, client: httpx.AsyncClient, customer: Customer) -> Holdings:
    return await populate(app, client, customer)


async def count(session: AsyncSession, model: type, user_id: str) -> int:
    statement = select(func.count()).select_from(model).where(model.user_id == user_id)  # type: ignore[attr-defined]
    found = await session.scalar(statement)
    await session.commit()
    return int(found or 0)


class TestErase:
    async def test_removes_everything_the_user_had_and_reports_it(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        simulator: httpx.AsyncClient,
        session: AsyncSession,
        customer: Customer,
        held: Holdings,
    ):
        report = report_of(await erase(client, customer.user.id, **{"X-Admin-Actor": "dpo@example.com"}))

        await assert_nothing_reachable(app, client, simulator, customer, held)
        assert report["status"] == "erased"
        assert report["actor"] == "admin-api:dpo@example.com"
        assert report["keys_revoked"] == 1
        assert report["resources_deleted"] == {"agent": 1, "identity": 1, "project": 1, "recording": 1, "voice": 1}
        assert report["job_records_deleted_upstream"] == {"detect": 1}
        assert report["job_records_kept_upstream"] == {"enhance": 1}
        objects = report["objects_removed"]
        assert objects == {
            "uploads/": 1,
            "tts-output/": 1,
            "audio-jobs/": 2,  # the jobs' input and the enhanced output
            "voice-recordings/": 2,  # the recording's audio and the identity's sample
            "voice-models/": 1,
            "_deleted/tts-output/": 1,
        }
        assert report["objects_removed_total"] == sum(objects.values())
        assert report["rows"]["assets_marked_deleted"] >= 6
        live_assets = await session.scalar(
            select(func.count())
            .select_from(ProviderResembleAsset)
            .where(ProviderResembleAsset.user_id == customer.user.id, ProviderResembleAsset.deleted_at.is_(None))
        )
        assert live_assets == 0

    async def test_keeps_the_ledger_under_a_pseudonym_and_strips_personal_data(
        self, client: httpx.AsyncClient, session: AsyncSession, customer: Customer, held: Holdings
    ):
        user_id = customer.user.id
        ledger_before = await count(session, LedgerEntry, user_id)
        usage_before = await count(session, ProviderResembleUsage, user_id)

        report = report_of(await erase(client, user_id))

        assert report["kept"] == {"ledger_entries": ledger_before, "usage_rows": usage_before}
        assert await count(session, LedgerEntry, user_id) == ledger_before
        assert await count(session, ProviderResembleUsage, user_id) == usage_before
        session.expire_all()
        user = await session.get(User, user_id)
        assert user is not None
        assert (user.email, user.webhook_secret) == (f"erased-{user_id}@invalid", None)
        total = await session.scalar(select(func.sum(LedgerEntry.amount_usd)).where(LedgerEntry.user_id == user_id))
        assert Decimal(total) == user.balance_usd
        raw = await session.scalars(
            select(ProviderResembleRequest.raw_response).where(ProviderResembleRequest.user_id == user_id)
        )
        assert set(raw.all()) == {None}

    async def test_admin_sees_it_erased_and_the_account_takes_nothing_new(
        self, client: httpx.AsyncClient, customer: Customer, held: Holdings
    ):
        user_id = customer.user.id
        report_of(await erase(client, user_id))

        shown = (await client.get(f"/api/v1/admin/users/{user_id}", headers=ADMIN_HEADERS)).json()
        assert shown["erased_at"] is not None
        assert shown["email"] == f"erased-{user_id}@invalid"
        assert all(key["revoked_at"] for key in shown["keys"])
        grant = await client.post(
            f"/api/v1/admin/users/{user_id}/credits", json={"amount_usd": "5"}, headers=ADMIN_HEADERS
        )
        assert grant.status_code == 409
        assert "erased" in grant.json()["detail"]
        key = await client.post(f"/api/v1/admin/users/{user_id}/keys", json={}, headers=ADMIN_HEADERS)
        assert key.status_code == 409

    async def test_voice_subscriptions_stop(
        self, app: FastAPI, client: httpx.AsyncClient, customer: Customer, held: Holdings
    ):
        report_of(await erase(client, customer.user.id))

        resources = app.state.resources
        renewed = await renew_all(resources.sessionmaker, resources.rate_card, utc_now() + timedelta(days=45))
        assert renewed == RenewalReport()  # the built voice is no longer a candidate at all

    async def test_another_users_data_is_untouched(
        self,
        client: httpx.AsyncClient,
        simulator: httpx.AsyncClient,
        session: AsyncSession,
        customer: Customer,
        other: Customer,
        held: Holdings,
    ):
        kept_upload = (await upload(client, other, purpose=None))["url"]
        kept_project = await create_project(client, other, "Theirs")

        report_of(await erase(client, customer.user.id))

        assert await fetch_link(client, kept_upload) == 200
        mine = await client.get(f"/api/v1/resemble/projects/{kept_project}", headers=other.headers)
        assert mine.status_code == 200
        assert await upstream_status(simulator, f"projects/{kept_project}") == 200
        assert (await client.get("/api/v1/user/usage", headers=other.headers)).status_code == 200
        assert await session.scalar(select(UserErasure.id).where(UserErasure.user_id == other.user.id)) is None
        revoked = await session.scalar(
            select(func.count())
            .select_from(ApiKey)
            .where(ApiKey.user_id == other.user.id, ApiKey.revoked_at.is_not(None))
        )
        assert revoked == 0


class TestResumeAndRepeat:
    async def test_an_interrupted_erasure_is_finished_by_the_next_call(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        simulator: httpx.AsyncClient,
        customer: Customer,
        held: Holdings,
    ):
        fault = {"path": f"/projects/{held.project}$", "status": 500, "count": -1}
        assert (await simulator.post("/_sim/faults", json=fault)).status_code == 201

        stopped = await erase(client, customer.user.id)

        assert stopped.status_code == 502
        assert "resources" in stopped.json()["detail"]
        assert (await client.get("/api/v1/user/usage", headers=customer.headers)).status_code == 401
        assert await upstream_status(simulator, f"agents/{held.agent}") == 200  # agents come after projects
        await simulator.delete("/_sim/faults")

        report = report_of(await erase(client, customer.user.id))

        assert report["attempts"] == 2
        assert report["resources_deleted"]["project"] == 1
        await assert_nothing_reachable(app, client, simulator, customer, held)

    async def test_a_repeated_call_answers_the_same_report_without_working_again(
        self, client: httpx.AsyncClient, simulator: httpx.AsyncClient, customer: Customer, held: Holdings
    ):
        first = report_of(await erase(client, customer.user.id))
        calls = len((await simulator.get("/_sim/requests")).json())

        again = report_of(await erase(client, customer.user.id))

        assert again == first
        assert len((await simulator.get("/_sim/requests")).json()) == calls

    async def test_one_run_at_a_time_and_a_dead_runs_lease_lapses(
        self, client: httpx.AsyncClient, session: AsyncSession, customer: Customer
    ):
        user_id = customer.user.id
        now = utc_now()
        # Another process's run, as its first write leaves it: started, holding the lease.
        assert await erasures.start(session, user_id, actor="cli:other", now=now)
        running = await erasures.find(session, user_id)
        assert running is not None
        assert await erasures.claim(session, running.id, now=now, until=now + timedelta(minutes=2), resumed=False)
        await session.commit()

        busy = await erase(client, user_id)

        assert busy.status_code == 409
        assert "running" in busy.json()["detail"]
        await session.execute(update(UserErasure).values(running_until=now - timedelta(seconds=1)))
        await session.commit()
        report = report_of(await erase(client, user_id))
        assert (report["actor"], report["attempts"]) == ("cli:other", 2)

    async def test_unknown_user_is_404(self, client: httpx.AsyncClient):
        response = await erase(client, "nobody")
        assert response.status_code == 404
        assert response.json()["detail"] == "User not found"


class TestOpenJobs:
    async def test_an_open_job_is_stopped_and_its_hold_given_back(
        self, client: httpx.AsyncClient, simulator: httpx.AsyncClient, session: AsyncSession, customer: Customer
    ):
        user_id = customer.user.id
        await simulator.post("/_sim/faults", json={"path": "/detect", "mode": "job_hang", "count": 1})
        job_input = (await upload(client, customer))["url"]
        submitted = await submit(client, customer, "detect", job_input)
        assert submitted.status_code in (200, 201, 202), submitted.text
        held_balance = await balance(session, user_id)

        report = report_of(await erase(client, user_id))

        assert report["jobs_stopped"] == 1
        assert report["job_records_deleted_upstream"] == {"detect": 1}
        job = await session.scalar(
            select(ProviderResembleJob).where(ProviderResembleJob.id == submitted.json()["job_id"])
        )
        assert job is not None
        assert job.status == "failed"
        assert await balance(session, user_id) > held_balance
        open_holds = await session.scalar(
            select(func.count())
            .select_from(CreditHold)
            .where(CreditHold.user_id == user_id, CreditHold.status == "held")
        )
        assert open_holds == 0
        assert await count(session, ProviderResembleUsage, user_id) == 0


async def balance(session: AsyncSession, user_id: str) -> Decimal:
    session.expire_all()
    value = await session.scalar(select(User.balance_usd).where(User.id == user_id))
    await session.commit()
    assert value is not None
    return value
