"""The in-process scheduler (SCHEDULER=inprocess, the embedded default): the registry's periodic tasks, run by
each gateway process. With SCHEDULER=celery the gateway runs none of this; beat sends the same tasks to workers.

Each task runs on its own period under its lock (`jobs.locks`: several gateway replicas never run one side by
side), opens its own session and isolates its failures, so one bad run never stops the next.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from functools import partial

from voicegate.jobs import registry
from voicegate.jobs.runner import run_periodic
from voicegate.resources import Resources

log = logging.getLogger(__name__)

TICK_S = 1.0


def schedule(resources: Resources) -> list[tuple[str, float, Callable[[], Awaitable[object]]]]:
    """(name, every_s, run) for each periodic task; add a task to `registry.TASKS`, not here."""
    return [
        (task.name, task.every_s(resources.settings), partial(run_periodic, resources, task.name))
        for task in registry.periodic_tasks()
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
