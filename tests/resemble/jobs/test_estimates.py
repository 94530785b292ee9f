"""A finished job whose duration cannot be measured is billed the quantity its credit hold was placed for.

The case: watermarking a WebM video. The gateway passes the upload to Resemble as a URL (so it never measures the
input) and gets a WebM back, whose duration it cannot read either. The hold was placed at submit for the
configured default, and that stored estimate, not a figure worked back from the hold's amount, is what is billed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import Customer, create_customer
from tests.resemble.jobs.helpers import submit, upload, wait_terminal
from tests.simulator.media_samples import webm
from voicegate.app import create_app
from voicegate.config import Settings
from voicegate.db.models import CreditHold, ProviderResembleJob, User
from voicegate.kit import media

WEBM_3S = webm(3.0)


async def _submit_webm_watermark(http: httpx.AsyncClient, customer: Customer) -> str:
    source = await upload(http, customer, WEBM_3S, filename="clip.webm", content_type="video/webm")
    created = await submit(http, customer, "watermark/apply", source["url"])
    assert created.status_code == 201, created.text
    return str(created.json()["job_id"])


async def _job(session: AsyncSession, job_id: str) -> ProviderResembleJob:
    job = await session.scalar(
        select(ProviderResembleJob).where(ProviderResembleJob.id == job_id).execution_options(populate_existing=True)
    )
    assert job is not None
    return job


async def _hold(session: AsyncSession, job: ProviderResembleJob) -> CreditHold:
    hold = await session.scalar(
        select(CreditHold).where(CreditHold.correlation_id == job.request_id).execution_options(populate_existing=True)
    )
    assert hold is not None
    return hold


async def _balance(session: AsyncSession, user_id: str) -> Decimal:
    value = await session.scalar(select(User.balance_usd).where(User.id == user_id))
    assert value is not None
    return value


def test_the_case_is_really_unmeasurable():
    assert media.sniff(WEBM_3S[:64]) is not None
    assert media.measure_seconds(WEBM_3S) is None


async def test_unmeasurable_output_is_billed_the_estimate_stored_at_submit(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
):
    customer = await create_customer(session)
    job_id = await _submit_webm_watermark(client, customer)
    stored = await _job(session, job_id)
    assert (stored.estimate_rate_key, stored.estimated_quantity) == (
        "watermark_apply",
        Decimal(settings.job_default_estimate_s),
    )
    held = (await _hold(session, stored)).amount_usd

    done = await wait_terminal(client, customer, "watermark/apply", job_id)

    assert done["status"] == "completed", done
    assert done["audio_url"]  # the output exists and was mirrored: only its duration is unknown
    billing = done["billing"]
    assert (billing["unit"], Decimal(str(billing["quantity"]))) == ("audio_seconds", stored.estimated_quantity)
    assert Decimal(billing["charged"]) == held
    finished = await _job(session, job_id)
    assert finished.quantity == stored.estimated_quantity
    hold = await _hold(session, finished)
    assert (hold.status, hold.shortfall_usd) == ("captured", Decimal(0))
    assert await _balance(session, customer.user.id) == Decimal(10) - held


@pytest.fixture
async def sub_micro_rate(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A gateway whose watermark rate makes the hold round: 60 s x $0.0000007 x 1.2 = $0.0000504, held as $0.000050.
    Worked back from that amount the hold would say 59.524 s; the job was estimated at 60 s."""
    rates = {"watermark_apply": Decimal("0.0000007")}
    app: FastAPI = create_app(settings.model_copy(update={"resemble_rates": rates}))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http,
    ):
        yield http


async def test_the_stored_estimate_is_billed_even_where_the_held_amount_was_rounded(
    sub_micro_rate: httpx.AsyncClient, session: AsyncSession, settings: Settings
):
    customer = await create_customer(session)
    job_id = await _submit_webm_watermark(sub_micro_rate, customer)
    held = (await _hold(session, await _job(session, job_id))).amount_usd
    assert held == Decimal("0.000050")

    done = await wait_terminal(sub_micro_rate, customer, "watermark/apply", job_id)

    assert done["status"] == "completed", done
    assert Decimal(str(done["billing"]["quantity"])) == Decimal(settings.job_default_estimate_s)
    assert Decimal(done["billing"]["charged"]) == held


async def test_the_estimate_is_read_from_the_job_row(client: httpx.AsyncClient, session: AsyncSession):
    customer = await create_customer(session)
    job_id = await _submit_webm_watermark(client, customer)
    await session.execute(
        update(ProviderResembleJob).where(ProviderResembleJob.id == job_id).values(estimated_quantity=Decimal("12.5"))
    )
    await session.commit()

    done = await wait_terminal(client, customer, "watermark/apply", job_id)

    assert Decimal(str(done["billing"]["quantity"])) == Decimal("12.5")
    assert Decimal(done["billing"]["charged"]) == Decimal("0.007500")  # 12.5 s x $0.0005 x 1.2


async def test_a_job_stored_without_an_estimate_is_billed_the_configured_default(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
):
    customer = await create_customer(session)
    job_id = await _submit_webm_watermark(client, customer)
    await session.execute(  # as a row written before the estimate columns existed
        update(ProviderResembleJob)
        .where(ProviderResembleJob.id == job_id)
        .values(estimate_rate_key=None, estimated_quantity=None)
    )
    await session.commit()

    done = await wait_terminal(client, customer, "watermark/apply", job_id)

    assert done["status"] == "completed", done
    assert Decimal(str(done["billing"]["quantity"])) == Decimal(settings.job_default_estimate_s)


async def test_an_estimate_in_another_unit_is_not_billed_as_seconds(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
):
    """Held as one image, found to be seconds of media: one image is no estimate of seconds."""
    customer = await create_customer(session)
    job_id = await _submit_webm_watermark(client, customer)
    await session.execute(
        update(ProviderResembleJob)
        .where(ProviderResembleJob.id == job_id)
        .values(estimate_rate_key="detect_image", estimated_quantity=Decimal(1))
    )
    await session.commit()

    done = await wait_terminal(client, customer, "watermark/apply", job_id)

    assert done["billing"]["unit"] == "audio_seconds"
    assert Decimal(str(done["billing"]["quantity"])) == Decimal(settings.job_default_estimate_s)
