"""Every route that speaks with a voice: B naming A's voice (or a custom voice nobody owns, or an unknown one) is a
404 that reaches neither the credit hold nor Resemble; A's own voice and the stock voices work."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import Customer
from tests.resemble.agents.conftest import create_agent
from tests.resemble.jobs.helpers import submit, upload, wait_terminal
from tests.resemble.projects.conftest import create_project
from tests.resemble.voices.conftest import A_VOICE, API, STOCK, UNOWNED_CUSTOM, upstream_calls, warm
from voicegate.db.models import CreditHold, User

FORBIDDEN = [A_VOICE, UNOWNED_CUSTOM, "deadbeef"]
SYNTHESIZE = f"{API}/tts/synthesize"


async def balance(session: AsyncSession, customer: Customer) -> Decimal:
    value = await session.scalar(select(User.balance_usd).where(User.id == customer.user.id))
    assert value is not None
    return value


async def holds(session: AsyncSession, customer: Customer) -> int:
    query = select(func.count()).select_from(CreditHold).where(CreditHold.user_id == customer.user.id)
    return int(await session.scalar(query) or 0)


class TestSynthesize:
    @pytest.mark.parametrize("voice", FORBIDDEN)
    async def test_b_cannot_speak_with_a_voice_it_may_not_see(
        self,
        client: httpx.AsyncClient,
        simulator: httpx.AsyncClient,
        session: AsyncSession,
        alice: Customer,
        bob: Customer,
        voice: str,
    ):
        await warm(client, bob, simulator)
        answer = await client.post(SYNTHESIZE, json={"voice_uuid": voice, "text": "Hi"}, headers=bob.headers)
        assert (answer.status_code, answer.json()) == (404, {"detail": "Voice not found"})
        assert await upstream_calls(simulator) == []
        assert await balance(session, bob) == Decimal("5")
        assert await holds(session, bob) == 0

    async def test_the_refusal_is_kept_under_an_idempotency_key_only_as_a_refusal(
        self, client: httpx.AsyncClient, simulator: httpx.AsyncClient, alice: Customer, bob: Customer
    ):
        headers = {**bob.headers, "Idempotency-Key": "try-a-voice"}
        for _ in range(2):
            answer = await client.post(SYNTHESIZE, json={"voice_uuid": A_VOICE, "text": "Hi"}, headers=headers)
            assert answer.status_code == 404
        assert [c for c in await upstream_calls(simulator) if c["path"].endswith("/synthesize")] == []

    async def test_a_speaks_with_own_voice_without_the_catalogue(
        self, client: httpx.AsyncClient, simulator: httpx.AsyncClient, session: AsyncSession, alice: Customer
    ):
        answer = await client.post(SYNTHESIZE, json={"voice_uuid": A_VOICE, "text": "Mine"}, headers=alice.headers)
        assert answer.status_code == 200, answer.text
        assert [c["path"] for c in await upstream_calls(simulator)] == ["/synthesize"]
        assert await balance(session, alice) < Decimal("5")

    async def test_b_speaks_with_a_stock_voice(self, client: httpx.AsyncClient, bob: Customer):
        answer = await client.post(SYNTHESIZE, json={"voice_uuid": STOCK[1], "text": "Stock"}, headers=bob.headers)
        assert answer.status_code == 200, answer.text


class TestClips:
    @pytest.mark.parametrize("voice", FORBIDDEN)
    async def test_b_cannot_make_a_clip_with_it(
        self,
        client: httpx.AsyncClient,
        simulator: httpx.AsyncClient,
        session: AsyncSession,
        alice: Customer,
        bob: Customer,
        voice: str,
    ):
        project = await create_project(client, bob)
        await warm(client, bob, simulator)
        body = {"fields": {"body": "Chapter one.", "voice_uuid": voice}}
        answer = await client.post(f"{API}/projects/{project}/clips", json=body, headers=bob.headers)
        assert (answer.status_code, answer.json()) == (404, {"detail": "Voice not found"})
        assert await upstream_calls(simulator) == []
        assert await holds(session, bob) == 0

    async def test_a_makes_a_clip_with_own_voice(self, client: httpx.AsyncClient, alice: Customer):
        project = await create_project(client, alice)
        body = {"fields": {"body": "Chapter one.", "voice_uuid": A_VOICE}}
        answer = await client.post(f"{API}/projects/{project}/clips", json=body, headers=alice.headers)
        assert answer.status_code == 200, answer.text


class TestEditJobs:
    async def test_b_cannot_edit_with_as_voice(
        self,
        client: httpx.AsyncClient,
        simulator: httpx.AsyncClient,
        session: AsyncSession,
        alice: Customer,
        bob: Customer,
    ):
        source = await upload(client, bob)
        await simulator.delete("/_sim/requests")
        answer = await submit(client, bob, "edit", source["url"], voice_uuid=A_VOICE)
        assert (answer.status_code, answer.json()) == (404, {"detail": "Voice not found"})
        assert await upstream_calls(simulator) == []
        assert await holds(session, bob) == 0

    async def test_a_edits_with_own_voice(self, client: httpx.AsyncClient, alice: Customer):
        source = await upload(client, alice)
        answer = await submit(client, alice, "edit", source["url"], voice_uuid=A_VOICE)
        assert answer.status_code == 201, answer.text
        assert (await wait_terminal(client, alice, "edit", answer.json()["job_id"]))["status"] == "completed"


class TestAgents:
    async def test_b_cannot_give_an_agent_as_voice(
        self, client: httpx.AsyncClient, simulator: httpx.AsyncClient, alice: Customer, bob: Customer
    ):
        agent = await create_agent(client, bob)
        await simulator.delete("/_sim/requests")
        created = await client.post(
            f"{API}/agents", json={"fields": {"name": "Mimic", "voice_uuid": A_VOICE}}, headers=bob.headers
        )
        updated = await client.put(
            f"{API}/agents/{agent}", json={"fields": {"voice_uuid": A_VOICE}}, headers=bob.headers
        )
        assert [created.status_code, updated.status_code] == [404, 404]
        assert await upstream_calls(simulator) == []

    async def test_a_gives_an_agent_own_voice(self, client: httpx.AsyncClient, alice: Customer):
        created = await client.post(
            f"{API}/agents", json={"fields": {"name": "Me", "voice_uuid": A_VOICE}}, headers=alice.headers
        )
        assert created.status_code == 200, created.text
