"""Every background task by name, and the schedule of the periodic ones: the one list the in-process loop, the
Celery worker and beat all read.

A task is an async function of `(resources, *plain_args)` declared in its domain's `tasks.py`; it opens its own
session, re-checks state and is idempotent. Adding one is one line in `TASKS`:

    periodic("storage.expire_assets", 900.0, storage_tasks.expire_assets)   # every 15 min, in both modes
    enqueued("jobs.handle_callback", job_tasks.handle_callback)             # sent by `jobs.queue` after commit

`every_s` is seconds, or a function of the settings when an operator tunes it (`JOB_POLL_EVERY_S`). Names are
`"domain.verb"`; they are also the Celery task names and the `task` label of `voicegate_task_runs_total`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from voicegate.billing import tasks as billing_tasks
from voicegate.config import Settings
from voicegate.reconciliation import tasks as reconciliation_tasks
from voicegate.resemble.jobs import tasks as job_tasks
from voicegate.resemble.voices import tasks as voice_tasks
from voicegate.resources import Resources
from voicegate.storage import tasks as storage_tasks
from voicegate.webhooks import tasks as webhook_tasks

TaskFn = Callable[..., Awaitable[object]]
Every = float | Callable[[Settings], float]


@dataclass(frozen=True)
class Task:
    name: str
    run: TaskFn
    """Called as `run(resources, *args)`; `args` are ids and other plain JSON values, never ORM instances."""
    every: Every | None = None
    """Periodic when set: how often beat (or the in-process loop) runs it."""

    @property
    def is_periodic(self) -> bool:
        return self.every is not None

    def every_s(self, settings: Settings) -> float:
        if self.every is None:
            raise ValueError(f"task {self.name} is not periodic")
        return self.every(settings) if callable(self.every) else float(self.every)

    def lease_s(self, settings: Settings) -> float:
        """How long one run may hold the task's lock: twice its period (30 s to 10 min), so a crashed holder
        delays the next run by at most one period or so, and a slow run is rarely overtaken."""
        return min(600.0, max(30.0, 2 * self.every_s(settings)))


def periodic(name: str, every: Every, run: TaskFn) -> Task:
    return Task(name, run, every)


def enqueued(name: str, run: TaskFn) -> Task:
    return Task(name, run)


async def _sweep_holds(resources: Resources) -> int:
    return await billing_tasks.sweep_holds(resources.sessionmaker)


TASKS: dict[str, Task] = {
    task.name: task
    for task in (
        periodic("billing.sweep_holds", 60.0, _sweep_holds),
        periodic("jobs.poll_open", lambda settings: settings.job_poll_every_s, job_tasks.poll_open_jobs),
        periodic("webhooks.deliver_due", 5.0, webhook_tasks.deliver_due),
        periodic("voices.renew_subscriptions", voice_tasks.RENEW_EVERY_S, voice_tasks.renew_voice_subscriptions),
        periodic(
            "voices.refresh_builds", lambda settings: settings.job_poll_every_s, voice_tasks.refresh_building_voices
        ),
        periodic("storage.expire_assets", storage_tasks.EXPIRE_EVERY_S, storage_tasks.expire_assets),
        periodic("storage.purge_deleted", storage_tasks.PURGE_EVERY_S, storage_tasks.purge_deleted),
        periodic("reconciliation.reconcile", reconciliation_tasks.RECONCILE_EVERY_S, reconciliation_tasks.reconcile),
        enqueued("jobs.handle_callback", job_tasks.handle_callback),
    )
}


def get(name: str) -> Task:
    try:
        return TASKS[name]
    except KeyError:
        raise LookupError(f"no background task named {name!r}") from None


def periodic_tasks() -> list[Task]:
    return [task for task in TASKS.values() if task.is_periodic]


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    """Celery beat's schedule: each periodic task under its own name, every `every_s` seconds."""
    schedule = {}
    for task in periodic_tasks():
        every_s = task.every_s(settings)
        # A tick no worker took within one period is dropped: the next tick does the same work.
        schedule[task.name] = {"task": task.name, "schedule": every_s, "options": {"expires": every_s}}
    return schedule
