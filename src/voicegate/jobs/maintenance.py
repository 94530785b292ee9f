"""The in-process scheduler for the embedded default (one process; a worker runs the same tasks in production).

Each task runs on its own period, opens its own session and isolates its failures, so one bad run never stops
the next. Tasks: release credit holds that never settled, poll open jobs, deliver due outbound webhooks, renew cloned
voices' monthly subscriptions, notice voice builds that finished, and reconcile with Resemble's wallet hourly.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voicegate.billing import ledger
from voicegate.reconciliation.tasks import RECONCILE_EVERY_S
from voicegate.reconciliation.tasks import reconcile as reconcile_task
from voicegate.resemble.jobs.tasks import poll_open_jobs
from voicegate.resemble.voices.tasks import RENEW_EVERY_S, refresh_building_voices, renew_voice_subscriptions
from voicegate.resources import Resources
from voicegate.webhooks import service as outbound_webhooks

log = logging.getLogger(__name__)

TICK_S = 1.0
HOLD_SWEEP_EVERY_S = 60.0
DELIVERY_EVERY_S = 5.0


async def sweep_once(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        released = await ledger.sweep_expired_holds(session)
        await session.commit()
        return released


async def deliver_webhooks(resources: Resources) -> int:
    settings = resources.settings
    return await outbound_webhooks.deliver_due(
        resources.sessionmaker,
        resources.webhook_http,  # the hardened client: no proxies from the environment, no redirects
        allow_private=settings.outbound_allow_private_networks,
        max_attempts=settings.webhook_delivery_max_attempts,
    )


def schedule(resources: Resources) -> list[tuple[str, float, Callable[[], Awaitable[object]]]]:
    return [
        ("billing.sweep_holds", HOLD_SWEEP_EVERY_S, lambda: sweep_once(resources.sessionmaker)),
        ("jobs.poll_open", resources.settings.job_poll_every_s, lambda: poll_open_jobs(resources)),
        ("webhooks.deliver_due", DELIVERY_EVERY_S, lambda: deliver_webhooks(resources)),
        ("voices.renew_subscriptions", RENEW_EVERY_S, lambda: renew_voice_subscriptions(resources)),
        ("voices.refresh_builds", resources.settings.job_poll_every_s, lambda: refresh_building_voices(resources)),
        ("reconciliation.reconcile", RECONCILE_EVERY_S, lambda: reconcile_task(resources)),
    ]


async def run_forever(resources: Resources) -> None:
    tasks = schedule(resources)
    last_run = {name: time.monotonic() for name, _, _ in tasks}
    while True:
        await asyncio.sleep(TICK_S)
        now = time.monotonic()
        for name, every_s, run in tasks:
            if now - last_run[name] < every_s:
                continue
            last_run[name] = now
            try:
                await run()
            except Exception:  # one bad run must not stop the next
                log.exception("scheduled_task_failed", extra={"task": name})
