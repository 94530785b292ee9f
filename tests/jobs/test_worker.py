"""The Celery app configures itself from the settings (Redis or RabbitMQ), carries every registered task with
its retry policy and beat's schedule, and a worker process runs tasks on its one loop and one `Resources`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from voicegate.cli.__main__ import app as cli_app
from voicegate.config import Settings, get_settings
from voicegate.jobs import registry
from voicegate.jobs.broker import build_celery
from voicegate.jobs.runner import run_task
from voicegate.jobs.worker import RETRY_MAX, WorkerRuntime, build_worker_app

REDIS = "redis://127.0.0.1:6379/1"
RABBITMQ = "amqp://guest:guest@127.0.0.1:5672//"


def _celery_settings(settings: Settings, **update: object) -> Settings:
    return settings.model_copy(update={"scheduler": "celery", **update})


class TestConfiguration:
    @pytest.mark.parametrize(("broker", "backend"), [(REDIS, REDIS), (RABBITMQ, "rpc://")])
    def test_broker_and_default_result_backend(self, settings: Settings, broker: str, backend: str) -> None:
        celery = build_celery(_celery_settings(settings, celery_broker_url=broker))
        assert celery.conf.broker_url == broker
        assert celery.conf.result_backend == backend
        assert (celery.conf.task_acks_late, celery.conf.worker_prefetch_multiplier) == (True, 1)

    def test_an_explicit_result_backend_wins(self, settings: Settings) -> None:
        celery = build_celery(
            _celery_settings(settings, celery_broker_url=RABBITMQ, celery_result_backend="redis://127.0.0.1:6379/2")
        )
        assert celery.conf.result_backend == "redis://127.0.0.1:6379/2"

    def test_celery_without_a_broker_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="SCHEDULER=celery needs CELERY_BROKER_URL"):
            Settings(_env_file=None, scheduler="celery")  # type: ignore[call-arg]

    def test_every_task_is_registered_and_beat_sends_the_periodic_ones(self, settings: Settings) -> None:
        tuned = _celery_settings(settings, celery_broker_url=REDIS, job_poll_every_s=7.0)
        celery = build_worker_app(tuned)
        assert set(registry.TASKS) <= set(celery.tasks)
        schedule = celery.conf.beat_schedule
        assert set(schedule) == {task.name for task in registry.periodic_tasks()}
        assert schedule["jobs.poll_open"]["schedule"] == 7.0
        assert schedule["webhooks.deliver_due"]["options"] == {"expires": 5.0}
        handle = celery.tasks["jobs.handle_callback"]
        assert (handle.max_retries, handle.retry_backoff, handle.autoretry_for) == (RETRY_MAX, True, (Exception,))
        assert celery.tasks["jobs.poll_open"].ignore_result is True


def test_a_worker_process_runs_tasks_on_its_own_loop_and_resources(settings: Settings) -> None:
    runtime = WorkerRuntime(settings)
    try:
        assert runtime.run(run_task(runtime.resources, "billing.sweep_holds")) == 0
        assert runtime.run(run_task(runtime.resources, "webhooks.deliver_due")) == 0  # the same loop, reused
    finally:
        runtime.close()


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    for name in ("CELERY_BROKER_URL", "RESEMBLE_API_KEY", "SCHEDULER"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


class TestCommands:
    @pytest.mark.parametrize("command", ["worker", "beat"])
    def test_without_a_broker_they_refuse_to_start(self, cli: CliRunner, command: str) -> None:
        result = cli.invoke(cli_app, [command])
        assert result.exit_code == 1
        assert "CELERY_BROKER_URL is not set" in result.output

    def test_the_worker_refuses_the_in_process_simulator(self, cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("CELERY_BROKER_URL", REDIS)
        get_settings.cache_clear()
        result = cli.invoke(cli_app, ["worker"])
        assert result.exit_code == 1
        assert "needs RESEMBLE_API_KEY" in result.output
