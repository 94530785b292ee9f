"""Work a request starts is sent only once the request's transaction commits, and forgotten if it rolls back.

`JobQueue.enqueue(session, name, *args)` parks the send in the session (`session.info`); SQLAlchemy's
`after_commit` event sends everything parked, a rollback of the outer transaction drops it. So a worker never
receives an id whose row is not durable yet, and a failed request leaves nothing behind. With SCHEDULER=celery
the send goes to the broker (the task retries with backoff there); in-process it becomes the request's background
task, run after the answer as before. A broker that is down at send time loses the message: it is logged, and
the periodic tasks (the poller, for a stored callback) finish the work later.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Annotated

from fastapi import BackgroundTasks, Depends
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from voicegate.deps import ResourcesDep
from voicegate.jobs.runner import run_quietly
from voicegate.resources import Resources

log = logging.getLogger(__name__)

PENDING = "voicegate_after_commit"


def after_commit(session: AsyncSession, send: Callable[[], object]) -> None:
    """Call `send` once the session's current transaction commits; never, if it rolls back.

    The transaction must have begun (the request has read or written something): a rollback of a session that
    never began one fires no event, and the work would wait for some later commit instead of being dropped.
    """
    if not session.in_transaction():
        raise RuntimeError("after_commit needs a transaction in progress")
    session.info.setdefault(PENDING, []).append(send)


@event.listens_for(Session, "after_commit")
def _send_parked(session: Session) -> None:
    for send in session.info.pop(PENDING, []):
        try:
            send()
        except Exception:  # the commit stands; the periodic tasks pick the work up later
            log.exception("enqueue_after_commit_failed")


@event.listens_for(Session, "after_soft_rollback")
def _drop_parked(session: Session, previous_transaction: SessionTransaction) -> None:
    if previous_transaction.nested:  # a savepoint: the outer transaction may still commit
        return
    dropped = session.info.pop(PENDING, [])
    if dropped:
        log.info("enqueued_work_dropped_on_rollback", extra={"count": len(dropped)})


class JobQueue:
    def __init__(self, resources: Resources, background: BackgroundTasks) -> None:
        self._resources = resources
        self._background = background

    def enqueue(self, session: AsyncSession, name: str, *args: str | int) -> None:
        """Run registered task `name` with `args` (ids, plain values) after `session` commits."""
        sender = self._resources.task_sender
        if sender is not None:
            after_commit(session, partial(sender.send_task, name, args=list(args)))
            return
        after_commit(session, partial(self._background.add_task, run_quietly, self._resources, name, *args))


async def get_job_queue(resources: ResourcesDep, background: BackgroundTasks) -> JobQueue:
    return JobQueue(resources, background)


JobQueueDep = Annotated[JobQueue, Depends(get_job_queue)]
