"""A database outage is a clean 503 with Retry-After, leaves no half-written charge, and heals by itself.

The PostgreSQL scenarios put a cuttable TCP proxy between a second gateway and the suite's database, so the
outage can start and end mid-run; the unreachable-URL and tiny-pool scenarios need no proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from tests.db.proxy import CuttableProxy, cuttable_proxy
from tests.factories import Customer, create_customer
from voicegate.app import create_app
from voicegate.auth.tokens import generate_api_key
from voicegate.billing import ledger
from voicegate.billing.idempotency import CLAIM_LEASE
from voicegate.config import Settings
from voicegate.db.models import (
    CreditHold,
    IdempotencyKey,
    LedgerEntry,
    ProviderResembleRequest,
    ProviderResembleUsage,
    User,
)
from voicegate.kit.time import utc_now

USAGE = "/api/v1/user/usage"
SYNTHESIZE = "/api/v1/resemble/tts/synthesize"
# Well formed, so authentication has to look it up in the database.
SOME_KEY = {"Authorization": f"Bearer {generate_api_key().plaintext}"}
BODY = {"voice_uuid": "55592656", "text": "Said while the database goes away."}


@contextlib.asynccontextmanager
async def gateway(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
            yield app, http


def assert_database_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["Retry-After"]) >= 1
    assert "Database temporarily unavailable" in response.json()["detail"]


async def money_state(session: AsyncSession, user_id: str) -> tuple[Decimal, Decimal, list[str], int]:
    """(balance, sum of the ledger, ledger kinds in order, usage rows), read fresh."""
    session.expire_all()
    balance = await session.scalar(select(User.balance_usd).where(User.id == user_id))
    total = await session.scalar(select(func.sum(LedgerEntry.amount_usd)).where(LedgerEntry.user_id == user_id))
    kinds = (
        await session.scalars(
            select(LedgerEntry.kind).where(LedgerEntry.user_id == user_id).order_by(LedgerEntry.created_at)
        )
    ).all()
    usage = await session.scalar(select(func.count()).where(ProviderResembleUsage.user_id == user_id))
    assert balance is not None
    assert total is not None
    return balance, total, list(kinds), usage or 0


@pytest.fixture
async def proxy(database_url: str) -> AsyncIterator[CuttableProxy]:
    if not database_url.startswith("postgresql"):
        pytest.skip("the proxied outage runs against PostgreSQL")
    url = make_url(database_url)
    async with cuttable_proxy(url.host or "127.0.0.1", url.port or 5432) as running:
        yield running


@pytest.fixture
async def proxied(
    app: FastAPI, settings: Settings, proxy: CuttableProxy
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """A second gateway reaching the suite's database through `proxy` (`app` truncates the tables afterwards)."""
    url = make_url(settings.effective_database_url).set(host="127.0.0.1", port=proxy.port)
    through_proxy = settings.model_copy(
        update={"database_url": url.render_as_string(hide_password=False), "db_connect_timeout_s": 2.0}
    )
    async with gateway(through_proxy) as pair:
        yield pair


async def wait_for_upstream_call(simulator: httpx.AsyncClient, path_suffix: str) -> None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if any(entry["path"].endswith(path_suffix) for entry in (await simulator.get("/_sim/requests")).json()):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"upstream never saw {path_suffix}")


class TestProxiedPostgresOutage:
    async def test_usage_is_503_while_cut_and_answers_again_after_restore(
        self, proxied: tuple[FastAPI, httpx.AsyncClient], proxy: CuttableProxy, session: AsyncSession
    ) -> None:
        _, http = proxied
        customer = await create_customer(session)
        assert (await http.get(USAGE, headers=customer.headers)).status_code == 200

        await proxy.cut()
        for _ in range(3):  # the first finds its pooled connection dead, the next ones cannot connect
            assert_database_unavailable(await http.get(USAGE, headers=customer.headers))

        await proxy.restore()
        recovered = await http.get(USAGE, headers=customer.headers)
        assert recovered.status_code == 200, recovered.text
        assert recovered.json()["user_id"] == customer.user.id

    async def test_new_credentials_are_503_not_401_while_cut(
        self, proxied: tuple[FastAPI, httpx.AsyncClient], proxy: CuttableProxy, session: AsyncSession
    ) -> None:
        _, http = proxied
        customer = await create_customer(session)
        await proxy.cut()
        assert_database_unavailable(await http.post(SYNTHESIZE, json=BODY, headers=customer.headers))
        await proxy.restore()
        assert (await http.post(SYNTHESIZE, json=BODY, headers=customer.headers)).status_code == 200

    async def test_cut_between_hold_and_capture_leaves_a_visible_hold_and_no_charge(
        self, proxied: tuple[FastAPI, httpx.AsyncClient], proxy: CuttableProxy, session: AsyncSession
    ) -> None:
        gateway_app, http = proxied
        customer = await create_customer(session, credits="10.00")
        user_id = customer.user.id
        simulator = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=gateway_app.state.resources.simulator), base_url="http://sim"
        )
        # Resemble takes a while to answer; the database goes away while it works.
        fault = {"path": "/synthesize$", "mode": "timeout", "delay_ms": 800, "count": 1}
        assert (await simulator.post("/_sim/faults", json=fault)).status_code == 201
        pending = asyncio.create_task(http.post(SYNTHESIZE, json=BODY, headers=customer.headers))
        await wait_for_upstream_call(simulator, "/synthesize")
        await proxy.cut()
        assert_database_unavailable(await pending)
        await proxy.restore()

        balance, total, kinds, usage = await money_state(session, user_id)
        assert kinds == ["grant", "hold"]  # the capture transaction never landed, not even in part
        assert usage == 0
        assert balance == total < Decimal("10.00")
        hold = (await session.scalars(select(CreditHold).where(CreditHold.user_id == user_id))).one()
        assert hold.status == "held"
        request = (
            await session.scalars(select(ProviderResembleRequest).where(ProviderResembleRequest.user_id == user_id))
        ).one()
        assert request.status == "pending"

        # The hold is evidence, not a loss: the sweep gives the credit back once it expires.
        assert await ledger.sweep_expired_holds(session, now=utc_now() + timedelta(hours=1)) == 1
        await session.commit()
        balance, total, kinds, usage = await money_state(session, user_id)
        assert (balance, total, usage) == (Decimal("10.00"), Decimal("10.00"), 0)

        # Billing works again as soon as the database is back, for the same credential (nothing it cached expired).
        answered = await http.post(SYNTHESIZE, json=BODY, headers=customer.headers)
        assert answered.status_code == 200, answered.text
        balance, total, kinds, usage = await money_state(session, user_id)
        assert (kinds, usage) == (["grant", "hold", "release", "hold", "capture"], 1)
        assert balance == total == Decimal("10.00") - Decimal(answered.json()["billing"]["charged"])
        await simulator.aclose()

    async def test_an_idempotency_key_cut_off_mid_request_heals_without_a_second_charge(
        self, proxied: tuple[FastAPI, httpx.AsyncClient], proxy: CuttableProxy, session: AsyncSession
    ) -> None:
        gateway_app, http = proxied
        customer = await create_customer(session, credits="10.00")
        user_id = customer.user.id
        headers = {**customer.headers, "Idempotency-Key": "cut-off"}
        simulator = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=gateway_app.state.resources.simulator), base_url="http://sim"
        )
        fault = {"path": "/synthesize$", "mode": "timeout", "delay_ms": 800, "count": 1}
        assert (await simulator.post("/_sim/faults", json=fault)).status_code == 201
        pending = asyncio.create_task(http.post(SYNTHESIZE, json=BODY, headers=headers))
        await wait_for_upstream_call(simulator, "/synthesize")
        await proxy.cut()
        assert_database_unavailable(await pending)  # neither the response nor the clean-up could be written
        await proxy.restore()
        await simulator.aclose()

        # Its hold is still open: the retry must not run beside a request that may yet settle.
        waiting = await http.post(SYNTHESIZE, json=BODY, headers=headers)
        assert waiting.status_code == 409, waiting.text
        # The sweep gives the credit back; past the lease the claim is abandoned, and a retry runs once.
        assert await ledger.sweep_expired_holds(session, now=utc_now() + timedelta(hours=1)) == 1
        await session.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.user_id == user_id)
            .values(created_at=utc_now() - CLAIM_LEASE * 2)
        )
        await session.commit()
        retried = await http.post(SYNTHESIZE, json=BODY, headers=headers)
        replayed = await http.post(SYNTHESIZE, json=BODY, headers=headers)

        assert retried.status_code == 200, retried.text
        assert replayed.headers["Idempotent-Replayed"] == "true"
        balance, total, kinds, usage = await money_state(session, user_id)
        assert usage == 1
        assert kinds.count("capture") == 1
        assert balance == total == Decimal("10.00") - Decimal(retried.json()["billing"]["charged"])


class TestUnreachableDatabase:
    async def test_closed_postgres_port_is_503(self, settings: Settings) -> None:
        dead = settings.model_copy(
            update={"database_url": "postgresql+asyncpg://postgres@127.0.0.1:1/voicegate", "db_connect_timeout_s": 1.0}
        )
        async with gateway(dead) as (_, http):
            for path in (USAGE, "/api/v1/webhooks/secret"):
                assert_database_unavailable(await http.get(path, headers=SOME_KEY))
            assert_database_unavailable(await http.post(SYNTHESIZE, json=BODY, headers=SOME_KEY))

    async def test_unopenable_sqlite_file_is_503(self, settings: Settings, tmp_path: Path) -> None:
        unopenable = tmp_path / "voicegate.db"
        unopenable.mkdir()  # a directory where the database file should be
        broken = settings.model_copy(update={"database_url": f"sqlite+aiosqlite:///{unopenable}"})
        async with gateway(broken) as (_, http):
            assert_database_unavailable(await http.get(USAGE, headers=SOME_KEY))
            admin = {"Authorization": "Bearer test-admin-key"}
            assert_database_unavailable(await http.post("/api/v1/admin/users", json={"email": "a@b.co"}, headers=admin))


class TestPoolExhaustion:
    async def test_no_free_connection_is_503_within_the_pool_timeout(
        self, app: FastAPI, settings: Settings, session: AsyncSession
    ) -> None:
        if not settings.effective_database_url.startswith("postgresql"):
            pytest.skip("DB_POOL_SIZE sizes the PostgreSQL pool")
        customer: Customer = await create_customer(session)
        tiny = settings.model_copy(update={"db_pool_size": 1, "db_pool_timeout_s": 0.5})
        async with gateway(tiny) as (tiny_app, http):
            engine = tiny_app.state.resources.engine
            async with engine.connect() as first, engine.connect() as second:  # the pool and its one overflow
                await first.execute(text("SELECT 1"))
                await second.execute(text("SELECT 1"))
                started = time.monotonic()
                assert_database_unavailable(await http.get(USAGE, headers=customer.headers))
                assert time.monotonic() - started < 3
            assert (await http.get(USAGE, headers=customer.headers)).status_code == 200
