"""Work done outside a user's request: handling stored callbacks and the background poller.

Each task opens its own session and re-checks state, so running one twice, or concurrently, is harmless; a sweep
isolates each item's failure from the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import partial
from typing import TypeVar

from voicegate.errors import log_item_failure
from voicegate.kit.time import utc_now
from voicegate.resemble.jobs import callbacks, repository, service
from voicegate.resemble.jobs.kinds import KINDS
from voicegate.resemble.jobs.service import job_deps
from voicegate.resources import Resources

log = logging.getLogger(__name__)

T = TypeVar("T")
# Open jobs older than this are still polled, but less eagerly matters little: Resemble keeps jobs for days.
POLL_WINDOW = timedelta(days=7)


async def with_deps(resources: Resources, work: Callable[[service.JobDeps], Awaitable[T]]) -> T:
    """Run `work` with the process's shared clients and a session of its own."""
    async with resources.sessionmaker() as session:
        return await work(job_deps(resources, session))


async def handle_callback(resources: Resources, event_id: str) -> None:
    """Settle the job a stored callback points at. Raises, so Celery retries it; should every attempt fail, the
    poller settles the job anyway."""
    await with_deps(resources, lambda deps: callbacks.handle(deps, event_id))


async def poll_open_jobs(resources: Resources, limit: int = 200) -> int:
    """Refresh every open job from Resemble (the third way a job reaches its end). Returns how many were checked."""
    async with resources.sessionmaker() as session:
        ids = await repository.open_job_ids(session, created_after=utc_now() - POLL_WINDOW, limit=limit)
    for job_id in ids:
        try:
            await with_deps(resources, partial(_refresh_one, job_id=job_id))
        except Exception as exc:
            log_item_failure(log, "job_poll_failed", exc, job_id=job_id)
    return len(ids)


async def _refresh_one(deps: service.JobDeps, *, job_id: str) -> None:
    job = await repository.get(deps.session, job_id)
    if job is not None:
        await service.refresh(deps, KINDS[job.capability], job)
