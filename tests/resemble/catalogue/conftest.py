"""Two users on one account: A has cloned a voice (a seeded custom voice with A's ownership row), B has none; the
account also holds a custom voice nobody here owns."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import Customer, create_customer
from voicegate.resemble.ownership import repository
from voicegate.resemble.ownership.kinds import Kind
from voicegate.simulator.voices import SEEDED_VOICES

API = "/api/v1/resemble"
VOICES = f"{API}/tts/voices"
STOCK = [v["uuid"] for v in SEEDED_VOICES if v["source"] == "Resemble Voice Library"]
A_VOICE = "91b49260"  # seeded as "Custom Voice"; A's ownership row makes it A's clone
UNOWNED_CUSTOM = "e28236ee"  # seeded as "Custom Voice", owned by nobody here: hidden from everyone


@pytest.fixture
async def alice(session: AsyncSession) -> Customer:
    customer = await create_customer(session, credits="5.00")
    own(session, A_VOICE, customer)
    await session.commit()
    return customer


@pytest.fixture
async def bob(session: AsyncSession) -> Customer:
    return await create_customer(session, credits="5.00")


def own(session: AsyncSession, voice_uuid: str, customer: Customer) -> None:
    repository.add(session, Kind.VOICE, voice_uuid, customer.user.id, None)


async def upstream_calls(simulator: httpx.AsyncClient) -> list[dict]:
    return list((await simulator.get("/_sim/requests")).json())


async def warm(client: httpx.AsyncClient, customer: Customer, simulator: httpx.AsyncClient) -> None:
    """Take the catalogue snapshot, then clear the request log, so a test sees only the calls that follow."""
    assert (await client.get(VOICES, headers=customer.headers)).status_code == 200
    await simulator.delete("/_sim/requests")


def add_upstream_voice(app: FastAPI, uuid: str, *, source: str | None = "Custom Voice", **fields: Any) -> None:
    """Put a voice in the simulated account's catalogue, as a voice created at Resemble would be."""
    state = app.state.resources.simulator.state.simulator
    item = {**copy.deepcopy(SEEDED_VOICES[0]), "uuid": uuid, "name": f"Voice {uuid}", **fields}
    if source is None:
        item.pop("source")
    else:
        item["source"] = source
    state.catalogue.add(item)


def ids(body: dict) -> list[str]:
    return [item["uuid"] for item in body["items"]]


def remove_upstream_voice(app: FastAPI, uuid: str) -> None:
    state = app.state.resources.simulator.state.simulator
    state.catalogue.remove(uuid)
