"""Resemble's refusals of the user's own key are theirs to fix and say so; the shared key keeps its own mapping;
each key has its own circuit breaker."""

from __future__ import annotations

import httpx
import pytest

from tests.factories import Customer

from .conftest import BYOK, balance, synthesize


async def fault(simulator: httpx.AsyncClient, status: int, count: int = 1, path: str = "synthesize") -> None:
    response = await simulator.post("/_sim/faults", json={"path": path, "status": status, "count": count})
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("status", "expected", "words"),
    [
        (401, 422, "Resemble rejected your own Resemble API key"),
        (402, 422, "Your own Resemble account is out of Resemble credit"),
        (403, 403, "Your own Resemble API key is not allowed to synthesize"),
    ],
)
async def test_the_users_key_refused_is_a_clear_4xx_and_free(
    client: httpx.AsyncClient,
    simulator: httpx.AsyncClient,
    byok_customer: Customer,
    status: int,
    expected: int,
    words: str,
):
    before = await balance(client, byok_customer)
    await fault(simulator, status)

    response = await synthesize(client, byok_customer)

    assert response.status_code == expected, response.text
    assert words in response.json()["detail"]
    assert await balance(client, byok_customer) == before


async def test_the_shared_keys_refusal_stays_a_502(
    client: httpx.AsyncClient, simulator: httpx.AsyncClient, customer: Customer
):
    await fault(simulator, 401)

    response = await synthesize(client, customer)

    assert response.status_code == 502
    assert response.json()["detail"] == "Resemble upstream error"


async def test_a_failing_own_account_opens_its_own_breaker_only(
    client: httpx.AsyncClient, simulator: httpx.AsyncClient, byok_customer: Customer, customer: Customer
):
    await fault(simulator, 500, count=-1)
    statuses = [(await synthesize(client, byok_customer)).status_code for _ in range(6)]
    await simulator.delete("/_sim/faults")

    assert statuses == [502] * 5 + [503]  # five failures open the user's breaker
    assert (await client.get("/healthz")).json()["upstream_circuit"] == "closed"
    assert (await synthesize(client, customer)).status_code == 200  # the shared key is unaffected
    assert (await synthesize(client, byok_customer)).status_code == 503  # theirs stays open until its probe
    assert (await client.delete(BYOK, headers=byok_customer.headers)).status_code == 204
    assert (await synthesize(client, byok_customer)).status_code == 200
