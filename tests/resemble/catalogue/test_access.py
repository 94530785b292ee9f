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
from tests.resemble.catalogue.conftest import A_VOICE, API, STOCK, UNOWNED_CUSTOM, upstream_calls, warm
from tests.resemble.jobs.helpers import SUBMIT_BODIES, upload, wait_terminal
from tests.resemble.projects.conftest import create_project
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


async def speak(
    client: httpx.AsyncClient, customer: Customer, route: str, voice: str, log: httpx.AsyncClient | None = None
) -> httpx.Response:
    """Ask for speech in `voice` through `route`. The setup it needs (a project, an upload) comes first, then the
    simulator's request log (`log`) is cleared, so it shows only what the request itself sent."""
    if route == "clip":
        url = f"{API}/projects/{await create_project(client, customer)}/clips"
        body: dict = {"fields": {"body": "Chapter one.", "voice_uuid": voice}}
    elif route == "edit":
        url = f"{API}/edit"
        body = {**SUBMIT_BODIES["edit"], "audio_url": (await upload(client, customer))["url"], "voice_uuid": voice}
    else:
        url, body = SYNTHESIZE, {"voice_uuid": voice, "text": "Hi"}
    if log is not None:
        await log.delete("/_sim/requests")
    return await client.post(url, json=body, headers=customer.headers)


ROUTES = ["synthesize", "clip", "edit"]


class TestSpeakingWithAVoice:
    @pytest.mark.parametrize("voice", FORBIDDEN)
    @pytest.mark.parametrize("route", ROUTES)
    async def test_b_cannot_use_a_voice_it_may_not_see(
        self,
        client: httpx.AsyncClient,
        simulator: httpx.AsyncClient,
        session: AsyncSession,
        alice: Customer,
        bob: Customer,
        route: str,
        voice: str,
    ):
        await warm(client, bob, simulator)
        before = await balance(session, bob)
        answer = await speak(client, bob, route, voice, log=simulator)
        assert (answer.status_code, answer.json()) == (404, {"detail": "Voice not found"})
        assert await upstream_calls(simulator) == []
        assert await balance(session, bob) == before
        assert await holds(session, bob) == 0

    @pytest.mark.parametrize("route", ROUTES)
    async def test_a_uses_own_voice(self, client: httpx.AsyncClient, alice: Customer, route: str):
        answer = await speak(client, alice, route, A_VOICE)
        assert answer.status_code in (200, 201), answer.text
        if route == "edit":
            assert (await wait_terminal(client, alice, "edit", answer.json()["job_id"]))["status"] == "completed"

    @pytest.mark.parametrize("route", ROUTES)
    async def test_b_uses_a_stock_voice(self, client: httpx.AsyncClient, bob: Customer, route: str):
        answer = await speak(client, bob, route, STOCK[1])
        assert answer.status_code in (200, 201), answer.text

    async def test_own_voice_needs_no_catalogue(
        self, client: httpx.AsyncClient, simulator: httpx.AsyncClient, alice: Customer
    ):
        answer = await speak(client, alice, "synthesize", A_VOICE, log=simulator)
        assert answer.status_code == 200, answer.text
        assert [c["path"] for c in await upstream_calls(simulator)] == ["/synthesize"]

    async def test_a_refusal_under_an_idempotency_key_stays_a_refusal(
        self, client: httpx.AsyncClient, simulator: httpx.AsyncClient, alice: Customer, bob: Customer
    ):
        headers = {**bob.headers, "Idempotency-Key": "try-a-voice"}
        for _ in range(2):
            answer = await client.post(SYNTHESIZE, json={"voice_uuid": A_VOICE, "text": "Hi"}, headers=headers)
            assert answer.status_code == 404
        assert [c for c in await upstream_calls(simulator) if c["path"].endswith("/synthesize")] == []


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
