"""Get, list and delete serve the caller's own rows; two users on one account never reach each other's identities,
and B's attempts on A's never reach Resemble."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import Customer
from tests.resemble.identity.conftest import (
    IDENTITY,
    account_identities,
    balance,
    enroll,
    search,
    uploaded,
    upstream_calls,
)
from voicegate.db.models import ProviderResembleResource


class TestReadList:
    async def test_get_answers_the_enrolled_item_without_asking_resemble(
        self, client: httpx.AsyncClient, alice: Customer, simulator: httpx.AsyncClient
    ):
        item = (await enroll(client, alice, "Ann"))["item"]
        await simulator.delete("/_sim/requests")
        got = await client.get(f"{IDENTITY}/{item['uuid']}", headers=alice.headers)
        assert got.status_code == 200
        assert got.json() == {"success": True, "item": item}
        assert await upstream_calls(simulator) == []

    async def test_list_pages_the_callers_identities_oldest_first(
        self, client: httpx.AsyncClient, alice: Customer, bob: Customer, simulator: httpx.AsyncClient
    ):
        mine = [(await enroll(client, alice, f"a{n}", n=n))["item"]["uuid"] for n in range(12)]
        await enroll(client, bob, "b", n=1)
        await simulator.delete("/_sim/requests")
        first = (await client.get(f"{IDENTITY}?page=1&page_size=10", headers=alice.headers)).json()
        second = (await client.get(f"{IDENTITY}?page=2&page_size=10", headers=alice.headers)).json()
        assert (first["total_count"], first["num_pages"], first["page"], first["page_size"]) == (12, 2, 1, 10)
        assert [item["uuid"] for item in first["items"] + second["items"]] == mine
        assert first["items"][0]["name"] == "a0"
        assert await upstream_calls(simulator) == []

    @pytest.mark.parametrize("query", ["page=0", "page_size=9", "page_size=1001", "page=x"])
    async def test_bad_paging_is_422(self, client: httpx.AsyncClient, alice: Customer, query: str):
        assert (await client.get(f"{IDENTITY}?{query}", headers=alice.headers)).status_code == 422


class TestDelete:
    async def test_deletes_upstream_then_retires_the_row(
        self,
        client: httpx.AsyncClient,
        session: AsyncSession,
        alice: Customer,
        simulator: httpx.AsyncClient,
        app: FastAPI,
    ):
        uuid = (await enroll(client, alice))["item"]["uuid"]
        deleted = await client.delete(f"{IDENTITY}/{uuid}", headers=alice.headers)
        assert deleted.status_code == 200
        assert deleted.json() == {"success": True, "uuid": uuid}
        assert await account_identities(app.state.resources.upstream) == []
        row = await session.scalar(select(ProviderResembleResource).where(ProviderResembleResource.upstream_id == uuid))
        assert row is not None
        assert row.deleted_at is not None
        await simulator.delete("/_sim/requests")
        assert (await client.get(f"{IDENTITY}/{uuid}", headers=alice.headers)).status_code == 404
        assert (await client.delete(f"{IDENTITY}/{uuid}", headers=alice.headers)).status_code == 404
        assert (await client.get(IDENTITY, headers=alice.headers)).json()["items"] == []
        assert await upstream_calls(simulator) == []

    async def test_an_identity_already_gone_upstream_is_retired(
        self, client: httpx.AsyncClient, alice: Customer, app: FastAPI
    ):
        uuid = (await enroll(client, alice))["item"]["uuid"]
        await app.state.resources.upstream.request_json("DELETE", f"identity/{uuid}", idempotent=True, operation="test")
        assert (await client.delete(f"{IDENTITY}/{uuid}", headers=alice.headers)).status_code == 200
        assert (await client.get(f"{IDENTITY}/{uuid}", headers=alice.headers)).status_code == 404

    async def test_an_upstream_failure_is_502_and_keeps_the_identity(
        self, client: httpx.AsyncClient, alice: Customer, simulator: httpx.AsyncClient
    ):
        uuid = (await enroll(client, alice))["item"]["uuid"]
        await simulator.post("/_sim/faults", json={"path": f"/identity/{uuid}$", "status": 500, "count": 3})
        assert (await client.delete(f"{IDENTITY}/{uuid}", headers=alice.headers)).status_code == 502
        assert (await client.get(f"{IDENTITY}/{uuid}", headers=alice.headers)).status_code == 200


class TestTwoUsersOneAccount:
    async def test_b_never_reaches_or_sees_as_identities(
        self,
        client: httpx.AsyncClient,
        alice: Customer,
        bob: Customer,
        simulator: httpx.AsyncClient,
        app: FastAPI,
    ):
        theirs = (await enroll(client, alice, "Alice", n=1))["item"]["uuid"]
        mine = (await enroll(client, bob, "Bob", n=2))["item"]["uuid"]
        await simulator.delete("/_sim/requests")

        for method in ("GET", "DELETE"):
            response = await client.request(method, f"{IDENTITY}/{theirs}", headers=bob.headers)
            assert response.status_code == 404
            assert response.json() == {"detail": "Identity not found"}
        listed = (await client.get(IDENTITY, headers=bob.headers)).json()
        assert ([item["uuid"] for item in listed["items"]], listed["total_count"]) == ([mine], 1)
        assert await upstream_calls(simulator) == []

        found = await search(client, bob, n=1, top_k=20)  # Alice's very recording
        assert list(found.json()["item"]) == [mine]
        assert theirs not in found.text
        assert "Alice" not in found.text
        assert sorted(await account_identities(app.state.resources.upstream)) == sorted([theirs, mine])
        assert (await client.get(f"{IDENTITY}/{theirs}", headers=alice.headers)).status_code == 200

    @pytest.mark.parametrize("route", ["enroll", "search"])
    async def test_b_cannot_use_as_upload_and_nothing_is_sent_or_charged(
        self,
        client: httpx.AsyncClient,
        session: AsyncSession,
        alice: Customer,
        bob: Customer,
        simulator: httpx.AsyncClient,
        route: str,
    ):
        body = {"url": await uploaded(client, alice), **({"name": "Ann"} if route == "enroll" else {})}
        response = await client.post(f"{IDENTITY}/{route}", json=body, headers=bob.headers)
        assert (response.status_code, response.json()) == (404, {"detail": "Media not found"})
        assert await upstream_calls(simulator) == []
        assert await balance(session, bob) == Decimal("5")

    async def test_an_unknown_id_is_the_same_404(self, client: httpx.AsyncClient, bob: Customer):
        response = await client.get(f"{IDENTITY}/0123456789abcdef", headers=bob.headers)
        assert (response.status_code, response.json()) == (404, {"detail": "Identity not found"})

    @pytest.mark.parametrize("identity_id", ["has space", "x" * 65, "semi;colon"])
    async def test_a_malformed_id_is_422(self, client: httpx.AsyncClient, bob: Customer, identity_id: str):
        assert (await client.get(f"{IDENTITY}/{identity_id}", headers=bob.headers)).status_code == 422
