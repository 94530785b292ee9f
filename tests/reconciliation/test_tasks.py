"""The hourly task: declared beside its service and scheduled with the other background work."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import create_customer
from voicegate.jobs.maintenance import schedule
from voicegate.reconciliation.tasks import RECONCILE_EVERY_S, reconcile

from .conftest import synthesize


async def test_the_task_is_scheduled_hourly(app: FastAPI):
    periods = {name: every_s for name, every_s, _ in schedule(app.state.resources)}
    assert periods["reconciliation.reconcile"] == RECONCILE_EVERY_S == 3600.0


async def test_the_task_reconciles_the_last_24_hours(app: FastAPI, client: httpx.AsyncClient, session: AsyncSession):
    customer = await create_customer(session)
    cost = await synthesize(client, customer, "Counted by the hourly run.")
    (run,) = [run for name, _, run in schedule(app.state.resources) if name == "reconciliation.reconcile"]
    report = await run()
    assert report.ok
    assert (report.window, report.comparison.ours_usd, report.comparison.theirs.total_usd) == ("24h", cost, cost)
    assert (await reconcile(app.state.resources)).ok  # a rerun recomputes the same answer
