"""Background work on Celery, for real: a gateway with SCHEDULER=celery (it runs no loop of its own), a
`voicegate worker` and `voicegate beat` as separate processes on a Redis broker, and the simulator.

Each case proves one periodic task's effect through the worker; a new task's case is one more small test on the
same `celery_stack`.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import httpx
import pytest
from celery import Celery
from sqlalchemy import func, select, update

from tests.conftest import IN_CI
from tests.e2e.conftest import ADMIN_KEY, SIM_KEY, WEBHOOK_SECRET, Stack
from tests.e2e.servers import Server, free_port, serve_together
from tests.http_receiver import Receiver, receiver_fixture  # noqa: F401 - the `receiver` fixture
from tests.resemble.jobs.helpers import make_wav
from tests.services import require_redis, sibling_database
from voicegate.db.models import LedgerEntry, ProviderResembleAsset, ProviderResembleJob, ProviderResembleUsage
from voicegate.db.session import create_engine, create_sessionmaker

pytestmark = pytest.mark.e2e

T = TypeVar("T")
SETTLE_TIMEOUT_S = 30.0
SLOW: dict[str, Any] = {"startup_timeout_s": 150.0}  # four interpreters importing at once on a small CI machine


@dataclass(frozen=True)
class CeleryStack(Stack):
    database_url: str

    def upload(self, api_key: str, seconds: float = 1.0) -> dict[str, Any]:
        upload = httpx.post(
            f"{self.gateway}/api/v1/resemble/uploads",
            files={"file": ("clip.wav", make_wav(seconds), "audio/wav")},
            data={"purpose": "stt_input"},
            headers={"Authorization": f"Bearer {api_key}"},
        )
        assert upload.status_code == 201, upload.text
        return dict(upload.json())

    def submit_stt(self, api_key: str, **extra: Any) -> str:
        headers = {"Authorization": f"Bearer {api_key}"}
        created = httpx.post(
            f"{self.gateway}/api/v1/resemble/stt",
            json={"audio_url": self.upload(api_key)["url"], **extra},
            headers=headers,
        )
        assert created.status_code == 201, created.text
        return str(created.json()["job_id"])

    def query(self, statement: Any) -> Any:
        """One scalar from the stack's database, read directly: a GET through the gateway would settle a job
        itself and prove nothing about the worker."""

        async def read() -> Any:
            engine = create_engine(self.database_url)
            try:
                async with create_sessionmaker(engine)() as session:
                    return await session.scalar(statement)
            finally:
                await engine.dispose()

        return asyncio.run(read())

    def execute(self, statement: Any) -> None:
        """Change the stack's database directly, as time passing would (an asset's expiry, say)."""

        async def write() -> None:
            engine = create_engine(self.database_url)
            try:
                async with create_sessionmaker(engine)() as session:
                    await session.execute(statement)
                    await session.commit()
            finally:
                await engine.dispose()

        asyncio.run(write())


def eventually(probe: Callable[[], T], done: Callable[[T], bool], timeout_s: float = SETTLE_TIMEOUT_S) -> T:
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.3)


@pytest.fixture(scope="module")
def broker_url(redis_url: str | None) -> str:
    """The services pass (DATABASE_URL set, as `make test-services` and CI run it) must have a broker; the
    embedded pass, which runs with no services by design, leaves this test to that pass."""
    url = redis_url or os.environ.get("CELERY_TEST_BROKER_URL")
    if url is None:
        if IN_CI and os.environ.get("DATABASE_URL"):
            pytest.fail("the Celery worker test needs REDIS_URL in the services pass on CI", pytrace=False)
        pytest.skip("the Celery worker test needs a broker (REDIS_URL); the services pass runs it")
    require_redis(url, in_ci=IN_CI)
    return url


@pytest.fixture(scope="module")
def celery_stack(
    tmp_path_factory: pytest.TempPathFactory,
    database_url: str,
    broker_url: str,
    storage_settings: dict[str, object],
) -> Iterator[CeleryStack]:
    logs = tmp_path_factory.mktemp("celery-logs")
    sim_port, gw_port = free_port(), free_port()
    simulator, gateway = f"http://127.0.0.1:{sim_port}", f"http://127.0.0.1:{gw_port}"
    stack_db = sibling_database(database_url, "celery")
    env = {
        "DATABASE_URL": stack_db,
        "RESEMBLE_API_KEY": SIM_KEY,
        "RESEMBLE_BASE_URL": f"{simulator}/api/v2",
        "RESEMBLE_SYNTH_URL": simulator,
        "ADMIN_API_KEY": ADMIN_KEY,
        "JWT_SECRET": "celery" * 8,
        "PUBLIC_BASE_URL": gateway,
        "VAR_DIR": str(tmp_path_factory.mktemp("celery-var")),
        "RESEMBLE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "OUTBOUND_ALLOW_PRIVATE_NETWORKS": "true",
        "JOB_POLL_EVERY_S": "1",
        "SCHEDULER": "celery",
        "CELERY_BROKER_URL": broker_url,
        "REDIS_URL": broker_url,  # the periodic tasks' locks too
        "PYTHONUNBUFFERED": "1",  # the worker's and beat's logs survive their termination
        **{key.upper(): str(value) for key, value in storage_settings.items()},
    }
    simulator_args = ["simulator", "--port", str(sim_port), "--api-key", SIM_KEY, "--webhook-secret", WEBHOOK_SECRET]
    # All four start at once (imports take seconds each on a busy machine); a tick that reaches the worker before
    # the gateway has migrated the database fails, and the next one succeeds.
    with serve_together(
        Server([*simulator_args, "--job-delay", "0.3"], {}, f"{simulator}/_sim/requests", logs / "sim.log", **SLOW),
        Server(["serve", "--port", str(gw_port)], env, f"{gateway}/healthz", logs / "gateway.log", **SLOW),
        Server(["worker", "--concurrency", "2"], env, None, logs / "worker.log", ready_text=" ready.", **SLOW),
        Server(["beat"], env, None, logs / "beat.log", ready_text="beat: Starting", **SLOW),
    ):
        yield CeleryStack(gateway=gateway, simulator=simulator, database_url=stack_db)


def _job(stack: CeleryStack, job_id: str) -> ProviderResembleJob | None:
    return stack.query(select(ProviderResembleJob).where(ProviderResembleJob.id == job_id))


def test_a_job_whose_callback_was_cut_is_settled_and_billed_once_by_the_workers_poller(
    celery_stack: CeleryStack,
) -> None:
    user = celery_stack.new_user(credits="5.00")
    celery_stack.fault(path="speech-to-text", mode="callback_drop")
    job_id = celery_stack.submit_stt(user["api_key"])

    job = eventually(lambda: _job(celery_stack, job_id), lambda row: row is not None and row.status == "completed")
    assert job is not None
    assert job.status == "completed"
    captures = celery_stack.query(
        select(func.count()).where(LedgerEntry.correlation_id == job.request_id, LedgerEntry.kind == "capture")
    )
    usage = celery_stack.query(select(func.count()).where(ProviderResembleUsage.request_id == job.request_id))
    assert (captures, usage) == (1, 1)
    assert Decimal(celery_stack.balance(user["api_key"])) < Decimal("5.00")
    callbacks = httpx.get(f"{celery_stack.simulator}/_sim/callbacks").json()
    assert [entry for entry in callbacks if entry["job_uuid"] == job.upstream_id] == []  # no callback: the poll did it


def test_a_due_webhook_is_delivered_by_the_worker(celery_stack: CeleryStack, receiver: Receiver) -> None:
    user = celery_stack.new_user(credits="5.00")
    job_id = celery_stack.submit_stt(user["api_key"], callback_uri=receiver.url)

    eventually(lambda: receiver.received, lambda received: len(received) > 0)
    assert len(receiver.received) == 1, receiver.received
    headers, body = receiver.received[0]
    assert headers.get("webhook-signature", "").startswith("v1,")
    payload = json.loads(body)
    assert job_id in json.dumps(payload)
    time.sleep(1.5)  # later ticks find nothing due: still one delivery
    assert len(receiver.received) == 1


def test_an_expired_asset_is_moved_by_the_worker(celery_stack: CeleryStack, broker_url: str) -> None:
    user = celery_stack.new_user(credits="1.00")
    headers = {"Authorization": f"Bearer {user['api_key']}"}
    asset_id = celery_stack.upload(user["api_key"], seconds=0.5)["asset_id"]
    celery_stack.execute(
        update(ProviderResembleAsset)
        .where(ProviderResembleAsset.id == asset_id)
        .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
    )

    # Beat sends the sweep every 15 minutes; send the same task by name now, as beat would.
    sender = Celery("voicegate-test", broker=broker_url, set_as_current=False)
    sender.send_task("storage.expire_assets")

    def moved() -> datetime | None:
        return celery_stack.query(select(ProviderResembleAsset.deleted_at).where(ProviderResembleAsset.id == asset_id))

    assert eventually(moved, lambda deleted_at: deleted_at is not None) is not None
    read = httpx.get(f"{celery_stack.gateway}/api/v1/resemble/uploads/{asset_id}", headers=headers)
    assert read.status_code == 200, read.text
    assert (read.json()["asset_expired"], read.json()["url"]) == (True, None)
