"""A gateway with bring-your-own-key on, over an in-process simulator serving two accounts: the gateway's own
(index 0, key `simulator`) and account B (index 1), whose key a user stores as their own."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from tests import services
from tests.conftest import make_settings
from tests.factories import Customer, create_customer
from voicegate.app import create_app
from voicegate.config import Settings

ENCRYPTION_KEY = base64.urlsafe_b64encode(bytes(range(32))).decode()
ACCOUNT_B_KEY = "rsm-account-b-secret-0001"
BYOK = "/api/v1/user/byok/resemble"
SYNTH = "/api/v1/resemble/tts/synthesize"
VOICE = "55592656"
SHARED, ACCOUNT_B = "0", "1"  # the simulator's account indexes in its request log


def byok_settings(settings: Settings, **overrides: Any) -> Settings:
    return settings.model_copy(
        update={"byok_encryption_key": SecretStr(ENCRYPTION_KEY), "simulator_api_keys": [ACCOUNT_B_KEY], **overrides}
    )


@pytest.fixture
def settings(var_dir: Any, database_url: str, redis_url: str | None, storage_settings: dict[str, object]) -> Settings:
    return byok_settings(make_settings(var_dir, database_url, redis_url, storage_settings))


@contextlib.asynccontextmanager
async def gateway(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient, httpx.AsyncClient]]:
    """Another gateway (other settings) for one test: (app, client, simulator hooks client)."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with (
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app.state.resources.simulator), base_url="http://sim"
            ) as sim,
        ):
            yield app, client, sim
        await services.truncate_all(app.state.resources.engine)


@pytest.fixture
async def customer(session: AsyncSession) -> Customer:
    return await create_customer(session, credits="10.00")


@pytest.fixture
async def byok_customer(client: httpx.AsyncClient, session: AsyncSession) -> Customer:
    """A customer who stored account B's key as their own."""
    customer = await create_customer(session, credits="10.00")
    await store_key(client, customer)
    return customer


async def store_key(client: httpx.AsyncClient, customer: Customer, key: str = ACCOUNT_B_KEY) -> dict[str, Any]:
    response = await client.put(BYOK, json={"api_key": key}, headers=customer.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def synthesize(
    client: httpx.AsyncClient, customer: Customer, text: str = "Hello from my own key."
) -> httpx.Response:
    return await client.post(SYNTH, json={"voice_uuid": VOICE, "text": text}, headers=customer.headers)


async def requests_of(sim: httpx.AsyncClient, account: str, path_part: str = "") -> list[dict[str, Any]]:
    """The simulator's request log for one account (index or key last4), optionally only paths containing a part."""
    response = await sim.get("/_sim/requests", params={"account": account})
    assert response.status_code == 200, response.text
    return [entry for entry in response.json() if path_part in entry["path"]]


async def balance(client: httpx.AsyncClient, customer: Customer) -> Decimal:
    response = await client.get("/api/v1/user/usage", headers=customer.headers)
    assert response.status_code == 200, response.text
    return Decimal(response.json()["credits_usd"])
