"""The job's state transitions in the database itself: each is won by exactly one caller, and only forward."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import create_customer, create_job
from voicegate.db.models import ProviderResembleJob
from voicegate.db.models.provider_resemble_job import JobStatus
from voicegate.kit.time import utc_now
from voicegate.resemble.jobs import repository

RACERS = 10


async def _open_job(session: AsyncSession) -> str:
    customer = await create_customer(session)
    return await create_job(session, customer.user.id)


async def _status(session: AsyncSession, job_id: str) -> ProviderResembleJob:
    job = await session.scalar(
        select(ProviderResembleJob).where(ProviderResembleJob.id == job_id).execution_options(populate_existing=True)
    )
    assert job is not None
    return job


async def _race(app: FastAPI, claims: list[str], job_id: str) -> list[bool]:
    """Each claim in its own session and transaction, all released at once."""
    start = asyncio.Event()

    async def one(claim: str, n: int) -> bool:
        async with app.state.resources.sessionmaker() as racer:
            await start.wait()
            now = utc_now()
            if claim == "complete":
                won = await repository.claim_completion(
                    racer,
                    job_id,
                    rate_key="stt",
                    quantity=Decimal(n),
                    item={"by": n},
                    output_url=None,
                    now=now,
                )
            else:
                won = await repository.claim_failure(racer, job_id, error=f"failed by {n}", item={"by": n}, now=now)
            await racer.commit()
            return won

    tasks = [asyncio.create_task(one(claim, n)) for n, claim in enumerate(claims)]
    await asyncio.sleep(0)
    start.set()
    return list(await asyncio.gather(*tasks))


async def test_claim_completion_is_won_exactly_once_under_concurrency(app: FastAPI, session: AsyncSession):
    job_id = await _open_job(session)

    won = await _race(app, ["complete"] * RACERS, job_id)

    assert won.count(True) == 1
    winner = won.index(True)
    job = await _status(session, job_id)
    assert job.status == JobStatus.COMPLETED
    # The row holds the winner's facts, not a mix of racers' writes.
    assert (job.quantity, json.loads(job.result or "{}")) == (Decimal(winner), {"by": winner})


async def test_completion_and_failure_racing_end_the_job_once(app: FastAPI, session: AsyncSession):
    job_id = await _open_job(session)

    claims = ["complete", "fail"] * (RACERS // 2)
    won = await _race(app, claims, job_id)

    assert won.count(True) == 1
    expected = JobStatus.COMPLETED if claims[won.index(True)] == "complete" else JobStatus.FAILED
    assert (await _status(session, job_id)).status == expected


async def test_a_final_job_never_moves_again(session: AsyncSession):
    job_id = await _open_job(session)
    now = utc_now()
    assert await repository.advance(session, job_id, item={"step": 1}, now=now)
    assert not await repository.advance(session, job_id, item={"step": 2}, now=now)  # only pending -> processing
    assert await repository.claim_failure(session, job_id, error="boom", item={"step": 3}, now=now)
    await repository.touch(session, job_id, item={"step": 4}, now=now)
    assert not await repository.claim_completion(
        session, job_id, rate_key="stt", quantity=Decimal(1), item={"step": 5}, output_url=None, now=now
    )
    await session.commit()

    job = await _status(session, job_id)
    assert (job.status, job.error, json.loads(job.result or "{}")) == (JobStatus.FAILED, "boom", {"step": 3})
    assert await repository.open_job_ids(session, created_after=job.created_at.replace(year=2000), limit=10) == []
