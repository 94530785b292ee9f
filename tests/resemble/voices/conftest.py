from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import Customer, create_customer
from tests.resemble.jobs.helpers import upload
from voicegate.config import Settings

VOICES = "/api/v1/resemble/voices"
DESIGN = "/api/v1/resemble/voice-design"
CONSENT = "I, Ada Lovelace, agree that my voice is cloned for my own audiobooks."


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The account is on Resemble's Business plan and the gateway's gate is open, as after an upgrade."""
    return settings.model_copy(update={"resemble_business_plan_active": True, "simulator_plan": "business"})


@pytest.fixture
async def customer(session: AsyncSession) -> Customer:
    return await create_customer(session, credits="20.00")


@pytest.fixture
async def other(session: AsyncSession) -> Customer:
    return await create_customer(session, credits="20.00")


async def create_voice(client: httpx.AsyncClient, customer: Customer, **extra: Any) -> dict[str, Any]:
    body = {"name": "Ada", "consent_text": CONSENT, **extra}
    response = await client.post(VOICES, json=body, headers=customer.headers)
    assert response.status_code == 200, response.text
    return dict(response.json()["item"])


async def add_recording(
    client: httpx.AsyncClient, customer: Customer, voice: str, name: str = "take-1", **extra: Any
) -> dict[str, Any]:
    if "url" not in extra and "audio_url" not in extra:
        extra["url"] = (await upload(client, customer, purpose="voice_clone", filename=f"{name}.wav"))["url"]
    fields = {"name": name, "text": "The quick brown fox jumps over the lazy dog.", "emotion": "neutral", **extra}
    response = await client.post(f"{VOICES}/{voice}/recordings", json={"fields": fields}, headers=customer.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def build(client: httpx.AsyncClient, customer: Customer, voice: str, **body: Any) -> httpx.Response:
    return await client.post(f"{VOICES}/{voice}/build", json=body, headers=customer.headers)


async def wait_built(client: httpx.AsyncClient, customer: Customer, voice: str, timeout_s: float = 10) -> dict:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        response = await client.get(f"{VOICES}/{voice}", headers=customer.headers)
        assert response.status_code == 200, response.text
        item = dict(response.json()["item"])
        if item["subscription"]["build_status"] in ("built", "failed"):
            return item
        assert asyncio.get_running_loop().time() < deadline, f"voice still {item.get('status')}"
        await asyncio.sleep(0.1)


async def upstream_requests(simulator: httpx.AsyncClient, fragment: str) -> list[dict[str, Any]]:
    return [r for r in (await simulator.get("/_sim/requests")).json() if fragment in r["path"]]
