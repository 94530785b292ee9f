from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import Customer, create_customer
from tests.resemble.jobs.helpers import make_wav, upload
from voicegate.db.models import User

IDENTITY = "/api/v1/resemble/identity"
ENROLL_CHARGE = Decimal("0.012000")  # 1 enrollment x $0.01 + 20 %
SEARCH_CHARGE = Decimal("0.006000")  # 1 search x $0.005 + 20 %
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00" + b"\x00" * 64


def voice(n: int) -> bytes:
    """A distinct recording per `n` (its length differs), the same bytes every time for one `n`."""
    return make_wav(0.5 + n / 10)


@pytest.fixture
async def alice(session: AsyncSession) -> Customer:
    return await create_customer(session, credits="5.00")


@pytest.fixture
async def bob(session: AsyncSession) -> Customer:
    return await create_customer(session, credits="5.00")


async def uploaded(client: httpx.AsyncClient, customer: Customer, n: int = 1) -> str:
    return str((await upload(client, customer, voice(n), purpose="voice_clone", filename=f"v{n}.wav"))["url"])


async def enroll(client: httpx.AsyncClient, customer: Customer, name: str = "Ann", n: int = 1) -> dict[str, Any]:
    url = await uploaded(client, customer, n)
    response = await client.post(f"{IDENTITY}/enroll", json={"name": name, "url": url}, headers=customer.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def search(client: httpx.AsyncClient, customer: Customer, n: int = 1, top_k: int | None = None) -> httpx.Response:
    body: dict[str, Any] = {"url": await uploaded(client, customer, n)}
    if top_k is not None:
        body["top_k"] = top_k
    return await client.post(f"{IDENTITY}/search", json=body, headers=customer.headers)


async def upstream_calls(simulator: httpx.AsyncClient, fragment: str = "/api/v2/identity") -> list[dict]:
    return [r for r in (await simulator.get("/_sim/requests")).json() if r["path"].startswith(fragment)]


async def balance(session: AsyncSession, customer: Customer) -> Decimal:
    value = await session.scalar(select(User.balance_usd).where(User.id == customer.user.id))
    assert value is not None
    return value


async def account_identities(upstream: Any) -> list[str]:
    """Every identity of the shared upstream account, asked of Resemble directly."""
    listed = await upstream.request_json(
        "GET", "identity", params={"page": 1, "page_size": 1000}, idempotent=True, operation="test"
    )
    return [item["uuid"] for item in listed["items"]]
