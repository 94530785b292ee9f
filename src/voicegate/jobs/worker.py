"""The Celery side: the registry's tasks on the Celery app, beat's schedule, and the event loop they run on.

Tasks are async functions that need `Resources` (an async engine, httpx clients bound to one event loop). Each
worker process therefore owns ONE event loop, run by a thread of its own, and ONE `Resources` opened on it: both
are built when the process starts (`worker_process_init`, sent by the prefork pool in each child and by the solo
pool) and closed when it stops. A task submits its coroutine to that loop and waits for the result, so the pool
may be `prefork` (the default: N processes, each running one task at a time on its own loop), `solo`, or
`threads` (tasks of one process then share its loop). Not gevent/eventlet: they patch the loop's thread away.

Enqueued tasks retry with exponential backoff (capped, jittered, bounded); periodic ones do not, the next tick is
their retry.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from celery import Celery, signals

from voicegate.config import Settings, get_settings
from voicegate.jobs import registry
from voicegate.jobs.broker import build_celery
from voicegate.jobs.runner import run_periodic, run_task
from voicegate.resources import Resources, open_resources

log = logging.getLogger(__name__)

T = TypeVar("T")

RETRY_MAX = 5
RETRY_BACKOFF_MAX_S = 300


class WorkerRuntime:
    """One event loop in a thread of its own and the `Resources` opened on it, for one worker process."""

    def __init__(self, settings: Settings) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="voicegate-tasks-loop", daemon=True)
        self._thread.start()
        self._stack = contextlib.AsyncExitStack()
        try:
            self.resources: Resources = self.run(self._open(settings))
        except BaseException:
            self._stop_loop()
            raise

    async def _open(self, settings: Settings) -> Resources:
        from voicegate.app import create_app  # an in-process simulator routes its calls back to a gateway app

        return await self._stack.enter_async_context(open_resources(settings, create_app(settings)))

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        """Run `work` on this process's loop and wait for it (from any thread but the loop's own)."""
        return asyncio.run_coroutine_threadsafe(work, self._loop).result()

    def close(self) -> None:
        try:
            self.run(self._stack.aclose())
        finally:
            self._stop_loop()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


_runtime: WorkerRuntime | None = None
_runtime_lock = threading.Lock()


def runtime() -> WorkerRuntime:
    """This process's runtime, built on first use if the pool sent no `worker_process_init`."""
    global _runtime
    with _runtime_lock:
        if _runtime is None:
            _runtime = WorkerRuntime(get_settings())
        return _runtime


@signals.worker_process_init.connect
def _open_runtime(**_: object) -> None:
    runtime()


@signals.worker_process_shutdown.connect
@signals.worker_shutdown.connect
def _close_runtime(**_: object) -> None:
    global _runtime
    with _runtime_lock:
        current, _runtime = _runtime, None
    if current is not None:
        current.close()


def _periodic(name: str) -> Any:
    def run() -> object:
        current = runtime()
        return current.run(run_periodic(current.resources, name))

    return run


def _enqueued(name: str) -> Any:
    def run(*args: Any) -> object:
        current = runtime()
        return current.run(run_task(current.resources, name, *args))

    return run


def register_tasks(app: Celery, settings: Settings) -> Celery:
    for task in registry.TASKS.values():
        if task.is_periodic:
            app.task(name=task.name, ignore_result=True)(_periodic(task.name))
        else:
            app.task(
                name=task.name,
                autoretry_for=(Exception,),
                retry_backoff=True,
                retry_backoff_max=RETRY_BACKOFF_MAX_S,
                retry_jitter=True,
                max_retries=RETRY_MAX,
            )(_enqueued(task.name))
    app.conf.beat_schedule = registry.beat_schedule(settings)
    return app


def build_worker_app(settings: Settings) -> Celery:
    """The Celery app of `voicegate worker` and `voicegate beat`: the broker, every task, beat's schedule."""
    return register_tasks(build_celery(settings), settings)
