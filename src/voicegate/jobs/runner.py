"""Running one registered task: counted in `voicegate_task_runs_total`, and for a periodic one under its lock.

The same two functions run a task wherever it runs: the gateway's in-process loop, a request's background
work in in-process mode, and the Celery worker.
"""

from __future__ import annotations

import logging

from voicegate import metrics
from voicegate.errors import log_item_failure
from voicegate.jobs import registry
from voicegate.resources import Resources

log = logging.getLogger(__name__)


async def run_task(resources: Resources, name: str, *args: object) -> object:
    """Run task `name` once with `args`; re-raises its failure (counted `failed`) for the caller to handle."""
    task = registry.get(name)
    try:
        result = await task.run(resources, *args)
    except BaseException:  # a cancelled run (shutdown, time limit) did not succeed either
        metrics.task_runs.labels(task=name, outcome="failed").inc()
        raise
    metrics.task_runs.labels(task=name, outcome="ok").inc()
    return result


async def run_periodic(resources: Resources, name: str) -> object | None:
    """One tick of periodic task `name`, unless another process is running it (then None, and nothing counted)."""
    task = registry.get(name)
    async with resources.task_locks.hold(name, task.lease_s(resources.settings)) as held:
        if not held:
            log.debug("periodic_task_skipped_locked", extra={"task": name})
            return None
        return await run_task(resources, name)


async def run_quietly(resources: Resources, name: str, *args: object) -> None:
    """`run_task` for work a request started in in-process mode: a failure is logged, never raised into the
    server (a stored callback's job is settled by the poller later)."""
    try:
        await run_task(resources, name, *args)
    except Exception as exc:
        log_item_failure(log, "enqueued_task_failed", exc, task=name)
