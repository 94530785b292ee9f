"""`GET /tts/voices` and `GET /tts/voices/{uuid}`: stock voices plus the caller's own, never another user's."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import Customer
from tests.resemble.catalogue.conftest import (
    A_VOICE,
    STOCK,
    UNOWNED_CUSTOM,
    VOICES,
    add_upstream_voice,
    ids,
    own,
    remove_upstream_voice,
    upstream_calls,
    warm,
)
from voicegate.db.models import ProviderResembleResource


class TestListing:
    async def test_b_sees_only_stock_voices(self, client: httpx.AsyncClient, alice: Customer, bob: Customer):
        body = (await client.get(VOICES, headers=bob.headers)).json()
        assert ids(body) == STOCK
        assert (body["page"], body["num_pages"], body["page_size"], body["total_count"]) == (1, 1, 10, len(STOCK))

    async def test_a_sees_own_voice_first_then_stock(self, client: httpx.AsyncClient, alice: Customer):
        body = (await client.get(VOICES, headers=alice.headers)).json()
        assert ids(body) == [A_VOICE, *STOCK]
        assert body["total_count"] == len(STOCK) + 1
        assert body["items"][0]["source"] == "Custom Voice"

    async def test_a_custom_voice_nobody_owns_is_hidden_from_everyone(
        self, client: httpx.AsyncClient, alice: Customer, bob: Customer
    ):
        for customer in (alice, bob):
            listed = ids((await client.get(VOICES, headers=customer.headers)).json())
            assert UNOWNED_CUSTOM not in listed
            assert (await client.get(f"{VOICES}/{UNOWNED_CUSTOM}", headers=customer.headers)).status_code == 404

    async def test_a_voice_without_a_source_counts_as_custom(
        self, app: FastAPI, client: httpx.AsyncClient, bob: Customer
    ):
        add_upstream_voice(app, "0a0a0a0a", source=None)
        add_upstream_voice(app, "0b0b0b0b", source="Resemble Voice Library")
        listed = ids((await client.get(VOICES, headers=bob.headers)).json())
        assert "0a0a0a0a" not in listed
        assert "0b0b0b0b" in listed

    async def test_pages_count_only_what_the_caller_may_see(
        self, app: FastAPI, client: httpx.AsyncClient, alice: Customer, bob: Customer
    ):
        extra = [f"5{n:07d}" for n in range(12)]
        for uuid in extra:
            add_upstream_voice(app, uuid, source="Resemble Voice Library")
        stock = [*STOCK, *extra]  # 16 stock voices; the account holds 18

        first = (await client.get(VOICES, params={"page_size": 10}, headers=bob.headers)).json()
        second = (await client.get(VOICES, params={"page": 2, "page_size": 10}, headers=bob.headers)).json()
        assert (first["num_pages"], first["total_count"]) == (2, 16)
        assert ids(first) + ids(second) == stock
        past = (await client.get(VOICES, params={"page": 3}, headers=bob.headers)).json()
        assert (past["items"], past["num_pages"]) == ([], 2)

        mine = (await client.get(VOICES, params={"page": 2}, headers=alice.headers)).json()
        assert (mine["num_pages"], mine["total_count"]) == (2, 17)
        assert ids(mine) == stock[9:]  # A's voice leads page one, shifting the stock voices by one

    async def test_one_snapshot_serves_every_caller_and_page(
        self, client: httpx.AsyncClient, simulator: httpx.AsyncClient, alice: Customer, bob: Customer
    ):
        await simulator.delete("/_sim/requests")
        answers = await asyncio.gather(
            *(client.get(VOICES, params={"page": n % 2 + 1}, headers=c.headers) for n, c in enumerate([alice, bob] * 5))
        )
        assert {a.status_code for a in answers} == {200}
        calls = await upstream_calls(simulator)
        assert [(c["method"], c["path"]) for c in calls] == [("GET", "/api/v2/voices")]
        assert calls[0]["query"]["page_size"] == "1000"


class TestOwnVoices:
    async def test_a_voice_created_after_the_snapshot_is_fetched_for_its_owner_only(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        simulator: httpx.AsyncClient,
        session: AsyncSession,
        alice: Customer,
        bob: Customer,
    ):
        await warm(client, alice, simulator)
        add_upstream_voice(app, "c1c1c1c1")
        own(session, "c1c1c1c1", alice)
        await session.commit()

        assert ids((await client.get(VOICES, headers=alice.headers)).json())[:2] == [A_VOICE, "c1c1c1c1"]
        assert [c["path"] for c in await upstream_calls(simulator)] == ["/api/v2/voices/c1c1c1c1"]
        assert "c1c1c1c1" not in ids((await client.get(VOICES, headers=bob.headers)).json())
        app.state.resources.voices.forget()  # a fresh snapshot holds it, and still only A sees it
        assert "c1c1c1c1" not in ids((await client.get(VOICES, headers=bob.headers)).json())
        assert "c1c1c1c1" in ids((await client.get(VOICES, headers=alice.headers)).json())

    async def test_an_own_voice_gone_upstream_is_retired(
        self, app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, alice: Customer
    ):
        remove_upstream_voice(app, A_VOICE)
        body = (await client.get(VOICES, headers=alice.headers)).json()
        assert ids(body) == STOCK
        assert body["total_count"] == len(STOCK)
        session.expire_all()
        row = await session.scalar(
            select(ProviderResembleResource).where(ProviderResembleResource.upstream_id == A_VOICE)
        )
        assert row is not None
        assert row.deleted_at is not None

    async def test_own_voice_is_read_from_resemble_every_time(
        self, client: httpx.AsyncClient, simulator: httpx.AsyncClient, alice: Customer
    ):
        await warm(client, alice, simulator)
        for _ in range(2):
            answer = await client.get(f"{VOICES}/{A_VOICE}", headers=alice.headers)
            assert answer.status_code == 200
            assert answer.json()["item"]["uuid"] == A_VOICE
        assert [c["path"] for c in await upstream_calls(simulator)] == [f"/api/v2/voices/{A_VOICE}"] * 2


class TestGetIsolation:
    async def test_b_gets_404_for_as_voice_without_any_upstream_call(
        self, client: httpx.AsyncClient, simulator: httpx.AsyncClient, alice: Customer, bob: Customer
    ):
        await simulator.delete("/_sim/requests")  # cold: not even the catalogue is fetched for an owned voice
        answer = await client.get(f"{VOICES}/{A_VOICE}", headers=bob.headers)
        assert (answer.status_code, answer.json()) == (404, {"detail": "Voice not found"})
        assert await upstream_calls(simulator) == []

    async def test_unknown_and_unowned_custom_voices_are_the_same_404_from_the_snapshot(
        self, client: httpx.AsyncClient, simulator: httpx.AsyncClient, bob: Customer
    ):
        await warm(client, bob, simulator)
        for uuid in (UNOWNED_CUSTOM, "deadbeef"):
            answer = await client.get(f"{VOICES}/{uuid}", headers=bob.headers)
            assert (answer.status_code, answer.json()) == (404, {"detail": "Voice not found"})
        assert await upstream_calls(simulator) == []

    async def test_stock_voice_is_served_from_the_snapshot(
        self, client: httpx.AsyncClient, simulator: httpx.AsyncClient, bob: Customer
    ):
        await warm(client, bob, simulator)
        answer = await client.get(f"{VOICES}/{STOCK[0]}", headers=bob.headers)
        assert answer.status_code == 200
        assert answer.json()["item"]["name"] == "Ellie"
        assert await upstream_calls(simulator) == []


class TestUpstreamFaults:
    async def test_a_failed_catalogue_fetch_is_502_and_not_kept(
        self, client: httpx.AsyncClient, simulator: httpx.AsyncClient, bob: Customer
    ):
        await simulator.post("/_sim/faults", json={"path": "^/api/v2/voices$", "status": 500, "count": 3})
        assert (await client.get(VOICES, headers=bob.headers)).status_code == 502
        assert ids((await client.get(VOICES, headers=bob.headers)).json()) == STOCK
