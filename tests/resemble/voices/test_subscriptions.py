"""Monthly renewals of cloned voices, driven by an explicit clock (`as_of`)."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from dateutil.relativedelta import relativedelta
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from tests.factories import Customer
from tests.resemble.jobs.helpers import SUBMIT_BODIES, upload
from tests.resemble.projects.conftest import create_project
from tests.resemble.voices.conftest import VOICES, add_recording, build, create_voice
from voicegate.admin import service as admin_service
from voicegate.cli.__main__ import app as cli_app
from voicegate.config import Settings, get_settings
from voicegate.db.models import CreditHold, ProviderResembleUsage, ProviderResembleVoiceSubscription, User
from voicegate.resemble.voices.subscriptions import period_at, period_bounds
from voicegate.resemble.voices.tasks import renew_voice_subscriptions

MONTH = Decimal("2.40")


async def balance(session: AsyncSession, user_id: str) -> Decimal:
    value = await session.scalar(
        select(User.balance_usd).where(User.id == user_id).execution_options(populate_existing=True)
    )
    assert value is not None
    return value


async def built_voice(client: httpx.AsyncClient, customer: Customer) -> tuple[str, datetime]:
    voice = await create_voice(client, customer)
    await add_recording(client, customer, voice["uuid"])
    response = await build(client, customer, voice["uuid"])
    assert response.status_code == 200, response.text
    start = datetime.fromisoformat(response.json()["subscription"]["current_period_start"].replace("Z", "+00:00"))
    return voice["uuid"], start


async def spend_down_to(session: AsyncSession, customer: Customer, left: Decimal) -> None:
    """Leave `left` USD on the account, less than a voice's month."""
    await admin_service.grant_credits(
        session, customer.user.id, left - await balance(session, customer.user.id), "spent"
    )
    await session.commit()


async def months_paid(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(ProviderResembleVoiceSubscription)) or 0)


def test_months_follow_the_calendar_from_the_anchor():
    anchor = datetime.fromisoformat("2026-01-31T10:00:00+00:00")
    assert period_bounds(anchor, 1)[0].isoformat() == "2026-02-28T10:00:00+00:00"
    assert period_at(anchor, anchor) == 0
    assert period_at(anchor, anchor + timedelta(days=27)) == 0
    assert period_at(anchor, datetime.fromisoformat("2026-02-28T10:00:00+00:00")) == 1
    assert period_at(anchor, datetime.fromisoformat("2027-02-01T00:00:00+00:00")) == 12
    assert period_at(anchor, anchor - timedelta(days=3)) == 0


async def test_the_next_month_is_charged_exactly_once(
    client: httpx.AsyncClient, session: AsyncSession, customer: Customer, app: FastAPI
):
    voice, start = await built_voice(client, customer)
    after_build = await balance(session, customer.user.id)

    same_month = await renew_voice_subscriptions(app.state.resources, start + timedelta(days=10))
    assert same_month.charged == 0
    next_month = start + relativedelta(months=1) + timedelta(hours=1)
    first, second = await asyncio.gather(
        renew_voice_subscriptions(app.state.resources, next_month),
        renew_voice_subscriptions(app.state.resources, next_month),
    )
    assert first.charged + second.charged == 1
    again = await renew_voice_subscriptions(app.state.resources, next_month + timedelta(days=3))
    assert again.charged == 0
    assert await balance(session, customer.user.id) == after_build - MONTH
    assert await months_paid(session) == 2
    usages = await session.scalar(
        select(func.count()).select_from(ProviderResembleUsage).where(ProviderResembleUsage.unit == "voice_months")
    )
    assert usages == 2
    item = (await client.get(f"{VOICES}/{voice}", headers=customer.headers)).json()["item"]
    assert item["subscription"]["suspended"] is False


async def test_unpaid_renewal_suspends_the_voice_until_credit_returns(
    client: httpx.AsyncClient, session: AsyncSession, customer: Customer, app: FastAPI
):
    voice, start = await built_voice(client, customer)
    await spend_down_to(session, customer, Decimal("1.00"))

    next_month = start + relativedelta(months=1) + timedelta(hours=1)
    report = await renew_voice_subscriptions(app.state.resources, next_month)
    assert (report.charged, report.suspended) == (0, 1)
    assert await balance(session, customer.user.id) == Decimal("1.00")
    item = (await client.get(f"{VOICES}/{voice}", headers=customer.headers)).json()["item"]
    assert item["subscription"]["suspended"] is True

    synth = await client.post(
        "/api/v1/resemble/tts/synthesize", json={"voice_uuid": voice, "text": "Hello"}, headers=customer.headers
    )
    assert synth.status_code == 402
    assert "suspended" in synth.json()["detail"].lower()

    await admin_service.grant_credits(session, customer.user.id, Decimal("10.00"), "top-up")
    await session.commit()
    resumed = await renew_voice_subscriptions(app.state.resources, next_month + timedelta(days=1))
    assert resumed.charged == 1
    assert await balance(session, customer.user.id) == Decimal("11.00") - MONTH
    item = (await client.get(f"{VOICES}/{voice}", headers=customer.headers)).json()["item"]
    assert item["subscription"]["suspended"] is False


async def speech_request(client: httpx.AsyncClient, customer: Customer, route: str, voice: str) -> tuple[str, dict]:
    """Where and what to post to make speech with `voice` through `route`; its setup (a project, an upload) is done."""
    if route == "clip":
        project = await create_project(client, customer)
        return f"/api/v1/resemble/projects/{project}/clips", {"fields": {"body": "Chapter one.", "voice_uuid": voice}}
    if route == "edit":
        source = (await upload(client, customer))["url"]
        return "/api/v1/resemble/edit", {**SUBMIT_BODIES["edit"], "audio_url": source, "voice_uuid": voice}
    return "/api/v1/resemble/tts/synthesize", {"voice_uuid": voice, "text": "Hello"}


@pytest.mark.parametrize("route", ["synthesize", "clip", "edit"])
async def test_a_suspended_voice_is_402_on_every_route_that_speaks_with_it(
    client: httpx.AsyncClient,
    session: AsyncSession,
    customer: Customer,
    app: FastAPI,
    simulator: httpx.AsyncClient,
    route: str,
):
    voice, start = await built_voice(client, customer)
    await spend_down_to(session, customer, Decimal("1.00"))
    report = await renew_voice_subscriptions(app.state.resources, start + relativedelta(months=1) + timedelta(hours=1))
    assert report.suspended == 1
    url, body = await speech_request(client, customer, route, voice)
    await simulator.delete("/_sim/requests")

    answer = await client.post(url, json=body, headers=customer.headers)
    assert answer.status_code == 402, answer.text
    detail = answer.json()["detail"]
    assert f"Voice {voice} is suspended" in detail
    assert "Add credit" in detail
    assert (await simulator.get("/_sim/requests")).json() == []
    assert await balance(session, customer.user.id) == Decimal("1.00")
    held = await session.scalar(select(func.count()).select_from(CreditHold).where(CreditHold.status == "held"))
    assert held == 0


async def test_a_deleted_voice_is_never_renewed(
    client: httpx.AsyncClient, session: AsyncSession, customer: Customer, app: FastAPI
):
    voice, start = await built_voice(client, customer)
    assert (await client.delete(f"{VOICES}/{voice}", headers=customer.headers)).status_code == 200
    before = await balance(session, customer.user.id)
    report = await renew_voice_subscriptions(app.state.resources, start + relativedelta(months=3))
    assert report.charged == 0
    assert await balance(session, customer.user.id) == before
    assert await months_paid(session) == 1


async def test_the_cli_renews_as_of_a_given_moment(
    client: httpx.AsyncClient,
    session: AsyncSession,
    customer: Customer,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
):
    _, start = await built_voice(client, customer)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    try:
        moment = (start + relativedelta(months=2) + timedelta(hours=1)).isoformat()
        command = ["voices", "renew", "--as-of", moment, "--json"]
        result = await asyncio.to_thread(CliRunner().invoke, cli_app, command)
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout.strip().splitlines()[-1])["charged"] == 1
        again = await asyncio.to_thread(CliRunner().invoke, cli_app, command)
        assert json.loads(again.stdout.strip().splitlines()[-1])["charged"] == 0
        bad = await asyncio.to_thread(CliRunner().invoke, cli_app, ["voices", "renew", "--as-of", "tomorrow"])
        assert bad.exit_code != 0
    finally:
        get_settings.cache_clear()
    assert await months_paid(session) == 2


async def test_a_suspended_voice_resumes_with_its_next_use_once_credit_is_back(
    client: httpx.AsyncClient, session: AsyncSession, customer: Customer, app: FastAPI
):
    voice, start = await built_voice(client, customer)
    await spend_down_to(session, customer, Decimal("0.50"))
    next_month = start + relativedelta(months=1) + timedelta(hours=1)
    assert (await renew_voice_subscriptions(app.state.resources, next_month)).suspended == 1

    await admin_service.grant_credits(session, customer.user.id, Decimal("5.00"), "top-up")
    await session.commit()
    synth = await client.post(
        "/api/v1/resemble/tts/synthesize", json={"voice_uuid": voice, "text": "Back again"}, headers=customer.headers
    )
    assert synth.status_code == 200, synth.text
    charged = Decimal(synth.json()["billing"]["charged"])
    assert await balance(session, customer.user.id) == Decimal("5.50") - MONTH - charged
    assert await months_paid(session) == 2
    # The month it paid is the one that went unpaid: the task finds nothing more to charge for it.
    assert (await renew_voice_subscriptions(app.state.resources, next_month + timedelta(days=2))).charged == 0
