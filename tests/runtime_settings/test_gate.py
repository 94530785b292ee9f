"""The Business-plan gate follows the runtime setting: at once in the process that changed it, within 5 s in
every other, with one database read per cache lifetime, and never a 500 while the database is away."""

from __future__ import annotations

import time
from collections.abc import Callable

import anyio
import pytest
from pydantic import ValidationError
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from voicegate.config import Settings

from .conftest import GATED, Gateway, app_of, put_settings


class TestSwitching:
    async def test_closed_by_default_without_reaching_the_route(self, gateway: Gateway) -> None:
        async with gateway() as client:
            response = await client.post(GATED)
            assert response.status_code == 503
            assert "Business-plan" in response.json()["detail"]
            assert app_of(client).state.gated_calls == 0

    async def test_opening_it_takes_effect_at_once_in_the_same_process(self, gateway: Gateway) -> None:
        async with gateway() as client:
            assert (await client.post(GATED)).status_code == 503  # the closed state is now cached
            assert (await put_settings(client, {"business_plan_active": True})).status_code == 200
            response = await client.post(GATED)
            assert response.status_code == 200, response.text
            assert app_of(client).state.gated_calls == 1

    async def test_the_database_overrides_the_environment_both_ways(self, gateway: Gateway) -> None:
        async with gateway(resemble_business_plan_active=True) as client:
            assert (await client.post(GATED)).status_code == 200
            await put_settings(client, {"business_plan_active": False})
            assert (await client.post(GATED)).status_code == 503
            await put_settings(client, {"business_plan_active": True})
            assert (await client.post(GATED)).status_code == 200


class TestOtherProcesses:
    async def test_a_second_gateway_on_the_same_database_follows_within_its_cache_lifetime(
        self, gateway: Gateway
    ) -> None:
        async with gateway() as writer, gateway(runtime_settings_ttl_s=0.2) as reader:
            assert (await reader.post(GATED)).status_code == 503
            await put_settings(writer, {"business_plan_active": True})
            changed = time.monotonic()
            while (await reader.post(GATED)).status_code != 200:
                assert time.monotonic() - changed < 5, "the second gateway never saw the change"
                await anyio.sleep(0.05)
            await put_settings(writer, {"business_plan_active": False})
            changed = time.monotonic()
            while (await reader.post(GATED)).status_code != 503:
                assert time.monotonic() - changed < 5, "the second gateway never saw the gate close"
                await anyio.sleep(0.05)

    @pytest.mark.parametrize("ttl_s", [5.001, 60, 0])
    def test_no_process_may_keep_a_value_longer_than_5_s(self, ttl_s: float) -> None:
        with pytest.raises(ValidationError, match="runtime_settings_ttl_s"):
            Settings(_env_file=None, runtime_settings_ttl_s=ttl_s)  # type: ignore[call-arg]

    async def test_until_its_cache_expires_it_keeps_the_value_it_read(self, gateway: Gateway) -> None:
        async with gateway() as writer, gateway() as reader:  # the default lifetime, 5 s
            assert (await reader.post(GATED)).status_code == 503
            await put_settings(writer, {"business_plan_active": True})
            assert (await reader.post(GATED)).status_code == 503


def count_settings_reads(engine: AsyncEngine) -> list[str]:
    reads: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if "FROM gateway_settings" in statement:
            reads.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    return reads


async def test_requests_read_the_flag_from_the_cache_not_the_database(gateway: Gateway) -> None:
    async with gateway() as client:
        reads = count_settings_reads(app_of(client).state.resources.engine)
        async with anyio.create_task_group() as group:  # concurrent misses share one read
            for _ in range(20):
                group.start_soon(client.post, GATED)
        for _ in range(10):
            await client.post(GATED)
        assert len(reads) == 1


class TestDatabaseAway:
    async def test_the_last_value_read_stays_in_effect(
        self, gateway: Gateway, settings_table_unreadable: Callable[[AsyncEngine], None]
    ) -> None:
        async with gateway(runtime_settings_ttl_s=0.1) as client:
            await put_settings(client, {"business_plan_active": True})
            assert (await client.post(GATED)).status_code == 200
            settings_table_unreadable(app_of(client).state.resources.engine)
            await anyio.sleep(0.15)  # the snapshot expires; the next read fails
            for _ in range(3):
                assert (await client.post(GATED)).status_code == 200

    @pytest.mark.parametrize(("env_default", "status"), [(False, 503), (True, 200)])
    async def test_before_any_read_the_environment_default_applies(
        self,
        gateway: Gateway,
        settings_table_unreadable: Callable[[AsyncEngine], None],
        env_default: bool,
        status: int,
    ) -> None:
        async with gateway(resemble_business_plan_active=env_default) as client:
            settings_table_unreadable(app_of(client).state.resources.engine)
            response = await client.post(GATED)
            assert response.status_code == status, response.text
