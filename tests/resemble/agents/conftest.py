from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import Customer, create_customer

API = "/api/v1/resemble"
VOICE_UUID = "55592656"
PUBLIC_HOOK = "https://93.184.216.34/hooks/agent"  # a public literal address: no DNS needed in tests


@pytest.fixture
async def customer(session: AsyncSession) -> Customer:
    return await create_customer(session, credits="1.00")


@pytest.fixture
async def other(session: AsyncSession) -> Customer:
    return await create_customer(session, credits="1.00")


def webhook_config(url: str = PUBLIC_HOOK) -> dict:
    return {"api_schema": {"url": url, "method": "POST"}, "response_timeout_secs": 10}


async def create(client: httpx.AsyncClient, customer: Customer, route: str, fields: dict) -> dict:
    response = await client.post(f"{API}/{route}", json={"fields": fields}, headers=customer.headers)
    assert response.status_code == 200, response.text
    return dict(response.json()["item"])


async def create_agent(client: httpx.AsyncClient, customer: Customer, name: str = "Receptionist") -> str:
    item = await create(
        client, customer, "agents", {"name": name, "voice_uuid": VOICE_UUID, "asr": {"model": "nova-2"}}
    )
    return str(item["agent"]["uuid"])


async def create_tool(client: httpx.AsyncClient, customer: Customer, agent: str, name: str = "lookup") -> str:
    fields = {
        "agent_uuid": agent,
        "name": name,
        "description": "Looks up an order",
        "tool_type": "webhook",
        "tool_config": {**webhook_config(), "parameters": {"order_id": {"type": "string"}}},
    }
    return str((await create(client, customer, "agent-tools", fields))["id"])


async def create_webhook(client: httpx.AsyncClient, customer: Customer, agent: str, kind: str = "post_call") -> str:
    fields = {"agent_uuid": agent, "webhook_type": kind, "webhook_config": webhook_config()}
    return str((await create(client, customer, "agent-webhooks", fields))["id"])


async def create_knowledge(client: httpx.AsyncClient, customer: Customer, title: str = "FAQ") -> str:
    fields = {"title": title, "description": "Opening hours", "source_type": "text", "raw_text": "We open at 9."}
    return str((await create(client, customer, "knowledge-base", fields))["uuid"])


async def upstream_calls(simulator: httpx.AsyncClient) -> list[dict]:
    return [r for r in (await simulator.get("/_sim/requests")).json() if r["path"].startswith("/api/v2/")]
