"""Search: billed one search; Resemble is asked for its 20 closest of the whole account, and only the caller's own
live identities come back, closest first, at most `top_k` of them."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import Customer
from tests.resemble.identity.conftest import (
    ENROLL_CHARGE,
    IDENTITY,
    PNG,
    SEARCH_CHARGE,
    balance,
    enroll,
    search,
    uploaded,
    upstream_calls,
)
from tests.resemble.jobs.helpers import upload
from voicegate.db.models import ProviderResembleRequest


async def searches_sent(simulator: httpx.AsyncClient) -> list[dict]:
    return await upstream_calls(simulator, "/api/v2/identity/search")


class TestOnlyTheCallersIdentities:
    async def test_anothers_identical_voice_is_never_returned(
        self,
        client: httpx.AsyncClient,
        session: AsyncSession,
        alice: Customer,
        bob: Customer,
        simulator: httpx.AsyncClient,
    ):
        await enroll(client, alice, "Alice's", n=1)
        mine = (await enroll(client, bob, "Bob's", n=2))["item"]["uuid"]
        response = await search(client, bob, n=1, top_k=5)  # the very recording Alice enrolled
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["success"], body["modality"]) == (True, "audio")
        assert list(body["item"]) == [mine]
        assert body["item"][mine]["name"] == "Bob's"
        assert body["item"][mine]["distance"] < 100
        [sent] = await searches_sent(simulator)
        assert sent["json"]["top_k"] == 20
        # Nor is it kept with the caller's request: the stored answer is the filtered one.
        row = await session.get(ProviderResembleRequest, body["request_id"])
        assert row is not None
        assert row.raw_response is not None
        assert "Alice's" not in row.raw_response

    async def test_a_caller_without_identities_gets_none_and_still_pays_the_search(
        self, client: httpx.AsyncClient, session: AsyncSession, alice: Customer, bob: Customer
    ):
        await enroll(client, alice, n=1)
        response = await search(client, bob, n=1)
        assert response.status_code == 200
        assert response.json()["item"] == {}
        assert response.json()["billing"]["charged"] == str(SEARCH_CHARGE)
        assert await balance(session, bob) == Decimal("5") - SEARCH_CHARGE

    async def test_an_identity_nobody_owns_is_dropped(self, client: httpx.AsyncClient, alice: Customer, app: FastAPI):
        sample = await uploaded(client, alice, n=3)
        await app.state.resources.upstream.request_json(
            "POST", "identity", json={"name": "stray", "url": sample}, idempotent=False, operation="test"
        )
        mine = (await enroll(client, alice, n=4))["item"]["uuid"]
        response = await search(client, alice, n=3, top_k=20)
        assert list(response.json()["item"]) == [mine]

    async def test_a_deleted_identity_is_no_longer_matched(self, client: httpx.AsyncClient, alice: Customer):
        uuid = (await enroll(client, alice, n=1))["item"]["uuid"]
        assert (await client.delete(f"{IDENTITY}/{uuid}", headers=alice.headers)).status_code == 200
        assert (await search(client, alice, n=1)).json()["item"] == {}


class TestRanking:
    async def test_closest_first_cut_to_top_k(self, client: httpx.AsyncClient, alice: Customer, bob: Customer):
        uuids = [(await enroll(client, alice, f"v{n}", n=n))["item"]["uuid"] for n in (1, 2, 3, 4)]
        await enroll(client, bob, n=2)
        body = (await search(client, alice, n=2, top_k=3)).json()
        matches = list(body["item"].items())
        assert len(matches) == 3
        assert matches[0][0] == uuids[1]
        assert (matches[0][1]["name"], matches[0][1]["distance"]) == ("v2", 100.0)
        distances = [match["distance"] for _, match in matches]
        assert distances == sorted(distances, reverse=True)
        assert {uuid for uuid, _ in matches} <= set(uuids)

    async def test_top_k_defaults_to_one(self, client: httpx.AsyncClient, alice: Customer):
        first = (await enroll(client, alice, n=1))["item"]["uuid"]
        await enroll(client, alice, n=2)
        assert list((await search(client, alice, n=1)).json()["item"]) == [first]

    async def test_fewer_when_the_caller_owns_fewer(self, client: httpx.AsyncClient, alice: Customer, bob: Customer):
        mine = (await enroll(client, alice, n=1))["item"]["uuid"]
        for n in (2, 3, 4):
            await enroll(client, bob, n=n)
        assert list((await search(client, alice, n=2, top_k=5)).json()["item"]) == [mine]

    @pytest.mark.parametrize("top_k", [0, 21, 2.5, "many", None])
    async def test_top_k_outside_1_to_20_is_422_before_any_upstream_call(
        self, client: httpx.AsyncClient, alice: Customer, simulator: httpx.AsyncClient, top_k: object
    ):
        body = {"url": await uploaded(client, alice), "top_k": top_k}
        response = await client.post(f"{IDENTITY}/search", json=body, headers=alice.headers)
        assert response.status_code == 422
        assert await searches_sent(simulator) == []


class TestBillingAndFaults:
    async def test_billed_one_search(self, client: httpx.AsyncClient, session: AsyncSession, alice: Customer):
        await enroll(client, alice)
        body = (await search(client, alice)).json()
        assert (body["billing"]["unit"], body["billing"]["quantity"]) == ("searches", "1.000000")
        assert await balance(session, alice) == Decimal("5") - ENROLL_CHARGE - SEARCH_CHARGE
        assert body["request_id"]

    async def test_idempotency_key_replays_without_a_second_search(
        self, client: httpx.AsyncClient, session: AsyncSession, alice: Customer, simulator: httpx.AsyncClient
    ):
        await enroll(client, alice)
        body = {"url": await uploaded(client, alice), "top_k": 2}
        headers = {**alice.headers, "Idempotency-Key": "search-1"}
        first = await client.post(f"{IDENTITY}/search", json=body, headers=headers)
        second = await client.post(f"{IDENTITY}/search", json=body, headers=headers)
        assert first.status_code == second.status_code == 200
        assert second.headers["Idempotent-Replayed"] == "true"
        assert second.json() == first.json()
        assert len(await searches_sent(simulator)) == 1
        assert await balance(session, alice) == Decimal("5") - ENROLL_CHARGE - SEARCH_CHARGE

    @pytest.mark.parametrize("mode", ["status", "reset", "malformed"])
    async def test_upstream_fault_is_502_and_charges_nothing(
        self,
        client: httpx.AsyncClient,
        session: AsyncSession,
        alice: Customer,
        simulator: httpx.AsyncClient,
        mode: str,
    ):
        url = await uploaded(client, alice)
        fault = {"path": "/identity/search", "mode": mode, "status": 503, "count": 1, "delay_ms": 10}
        await simulator.post("/_sim/faults", json=fault)
        response = await client.post(f"{IDENTITY}/search", json={"url": url}, headers=alice.headers)
        assert response.status_code == 502
        assert await balance(session, alice) == Decimal("5")

    async def test_a_search_answer_without_matches_is_502_and_charges_nothing(
        self, client: httpx.AsyncClient, session: AsyncSession, alice: Customer, app: FastAPI
    ):
        url = await uploaded(client, alice)
        http = app.state.resources.upstream._http
        real = http._transport
        http._transport = httpx.MockTransport(lambda _: httpx.Response(200, json={"success": True, "item": [1, 2]}))
        try:
            response = await client.post(f"{IDENTITY}/search", json={"url": url}, headers=alice.headers)
        finally:
            http._transport = real
        assert response.status_code == 502
        assert await balance(session, alice) == Decimal("5")

    async def test_non_audio_sample_is_415(self, client: httpx.AsyncClient, alice: Customer):
        image = await upload(client, alice, PNG, purpose=None, filename="face.png", content_type="image/png")
        response = await client.post(f"{IDENTITY}/search", json={"url": image["url"]}, headers=alice.headers)
        assert response.status_code == 415
