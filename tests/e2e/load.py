"""The load-and-faults stack and its audit: a gateway and a simulator as real processes, tuned so a burst is
decided by the code under test rather than by the defaults meant for production traffic.

- a synthesis cap a little under what each user sends (a few 429s, not a run of them), the others out of reach;
- a breaker that never opens: a seeded 40 % failure rate would open it within seconds and turn the rest of the
  run into 503s that prove nothing;
- a short upstream read timeout, so a `timeout` fault costs the gateway two seconds, not sixty;
- a credit-hold TTL shorter than a timed-out synthesis, so the sweep, run during the burst, releases holds of
  requests still in flight (their capture then charges directly), and can run again right after the burst.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.e2e.conftest import ADMIN_KEY, SIM_KEY, WEBHOOK_SECRET
from tests.e2e.servers import Server, free_port, serve_together
from voicegate.billing.tasks import sweep_holds
from voicegate.db.models import CreditHold, LedgerEntry, ProviderResembleUsage, User
from voicegate.db.session import create_sessionmaker

READ_TIMEOUT_S = 2.0
HOLD_TTL_S = 1
CAPS = {"tts": "55/minute", "uploads": "10000/minute", "stt": "10000/minute", "detect": "10000/minute"}


@dataclass(frozen=True)
class LoadStack:
    gateway: str
    simulator: str
    database_url: str
    log: Path


@contextlib.contextmanager
def load_stack(
    logs: Path, var: Path, database_url: str, redis_url: str | None, storage: dict[str, object]
) -> Iterator[LoadStack]:
    sim_port, gw_port = free_port(), free_port()
    simulator = f"http://127.0.0.1:{sim_port}"
    gateway = f"http://127.0.0.1:{gw_port}"
    env = {
        "DATABASE_URL": database_url,
        "RESEMBLE_API_KEY": SIM_KEY,
        "RESEMBLE_BASE_URL": f"{simulator}/api/v2",
        "RESEMBLE_SYNTH_URL": simulator,
        "RESEMBLE_READ_TIMEOUT_S": str(READ_TIMEOUT_S),
        "RESEMBLE_BREAKER_FAILURES": "1000000",
        "RESEMBLE_RATE_LIMITS": json.dumps(CAPS),
        "RESEMBLE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "HOLD_TTL_S": str(HOLD_TTL_S),
        "ADMIN_API_KEY": ADMIN_KEY,
        "JWT_SECRET": "load" * 12,
        "PUBLIC_BASE_URL": gateway,
        "VAR_DIR": str(var),
        "OUTBOUND_ALLOW_PRIVATE_NETWORKS": "true",
        "JOB_POLL_EVERY_S": "2",
        **{key.upper(): str(value) for key, value in storage.items()},
    }
    if redis_url:
        env["REDIS_URL"] = redis_url
    log = logs / "gateway.log"
    # On the services stack two workers share the Redis limiter and the database, as replicas do in production (and
    # as when the limiter once degraded under load); the embedded stack is one process by design.
    workers = ["--workers", "2"] if redis_url else []
    simulator_args = ["simulator", "--port", str(sim_port), "--api-key", SIM_KEY, "--webhook-secret", WEBHOOK_SECRET]
    with serve_together(
        Server([*simulator_args, "--job-delay", "1.0"], {}, f"{simulator}/_sim/requests", logs / "simulator.log"),
        Server(["serve", "--port", str(gw_port), *workers], env, f"{gateway}/healthz", log),
    ):
        yield LoadStack(gateway=gateway, simulator=simulator, database_url=database_url, log=log)


def metric(text: str, name: str) -> float:
    """One unlabelled sample from a Prometheus text exposition; a counter never incremented reads as 0."""
    found = re.search(rf"^{re.escape(name)} ([0-9.e+-]+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


@dataclass(frozen=True)
class Books:
    """What the database says after the run."""

    tts_usage_request_ids: list[str]
    job_usage_job_ids: list[str]
    ledger_sum: dict[str, Decimal]
    balance: dict[str, Decimal]
    open_holds: int
    swept: int
    direct_charges: int  # captures that found their hold already swept, and charged the balance directly
    shortfalls: int  # holds whose real price the balance could not cover in full (recorded for reconciliation)


async def audit(engine: AsyncEngine, user_ids: list[str]) -> Books:
    """Run the hold sweep the way the scheduler does, then read usage, ledger, balances and holds."""
    sessions = create_sessionmaker(engine)
    swept = await sweep_holds(sessions)
    async with sessions() as session:
        usage = (await session.execute(select(ProviderResembleUsage.request_id, ProviderResembleUsage.job_id))).all()
        ledger = dict(
            (
                await session.execute(
                    select(LedgerEntry.user_id, func.sum(LedgerEntry.amount_usd))
                    .where(LedgerEntry.user_id.in_(user_ids))
                    .group_by(LedgerEntry.user_id)
                )
            ).all()
        )
        balances = dict((await session.execute(select(User.id, User.balance_usd).where(User.id.in_(user_ids)))).all())
        open_holds = await session.scalar(
            select(func.count()).select_from(CreditHold).where(CreditHold.status == "held")
        )
        direct_charges = await session.scalar(
            select(func.count()).select_from(LedgerEntry).where(LedgerEntry.kind == "charge")
        )
        shortfalls = await session.scalar(
            select(func.count()).select_from(CreditHold).where(CreditHold.shortfall_usd > 0)
        )
    return Books(
        tts_usage_request_ids=[request_id for request_id, job_id in usage if job_id is None],
        job_usage_job_ids=[job_id for _, job_id in usage if job_id is not None],
        ledger_sum={user_id: Decimal(ledger.get(user_id) or 0) for user_id in user_ids},
        balance={user_id: Decimal(balances[user_id]) for user_id in user_ids},
        open_holds=int(open_holds or 0),
        swept=swept,
        direct_charges=int(direct_charges or 0),
        shortfalls=int(shortfalls or 0),
    )
