"""The Celery app as configured from the settings: the broker and result backend, and the delivery rules.

The gateway uses it only to send tasks by name (`send_task`), so it registers none; `jobs.worker` adds the task
registry and beat's schedule for the worker and beat processes.
"""

from __future__ import annotations

from celery import Celery

from voicegate.config import Settings


def result_backend(settings: Settings) -> str:
    """CELERY_RESULT_BACKEND, else the broker itself for Redis, or RabbitMQ's reply queues (`rpc://`)."""
    broker = settings.celery_broker_url or ""
    if settings.celery_result_backend:
        return settings.celery_result_backend
    return broker if broker.startswith(("redis://", "rediss://")) else "rpc://"


def build_celery(settings: Settings) -> Celery:
    if not settings.celery_broker_url:
        raise ValueError("CELERY_BROKER_URL is not set")
    app = Celery("voicegate", broker=settings.celery_broker_url, backend=result_backend(settings), set_as_current=False)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        result_expires=3600,
        timezone="UTC",
        enable_utc=True,
        # A task is acknowledged once it has run, so a worker killed mid-task leaves it to another (tasks are
        # idempotent); one message at a time per process, so a slow sweep holds no others back.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        beat_schedule_filename=str(settings.var_dir / "celerybeat-schedule"),
    )
    return app
