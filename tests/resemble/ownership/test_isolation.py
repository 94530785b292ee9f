"""Two users on one upstream account: for every owned kind, B never sees, reads, edits, deletes or nests under A's
objects, and none of B's attempts reaches Resemble; A's own operations all work."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import Customer, create_customer
from tests.resemble.agents.conftest import (
    API,
    create_agent,
    create_knowledge,
    create_tool,
    create_webhook,
    webhook_config,
)
from tests.resemble.projects.conftest import VOICE_UUID, create_clip, create_project


@dataclass
class Owned:
    list_url: str
    item_url: str
    update_body: dict | None
    list_key: str = "uuid"


async def make(kind: str, client: httpx.AsyncClient, owner: Customer) -> tuple[Owned, str]:
    """A's object of `kind`, its URLs, and the id as listings show it."""
    if kind == "project":
        uuid = await create_project(client, owner)
        return Owned(f"{API}/projects", f"{API}/projects/{uuid}", {"name": "Mine now"}), uuid
    if kind == "clip":
        project = await create_project(client, owner)
        uuid = (await create_clip(client, owner, project))["item"]["uuid"]
        return Owned(f"{API}/projects/{project}/clips", f"{API}/projects/{project}/clips/{uuid}", None), uuid
    if kind == "agent":
        uuid = await create_agent(client, owner)
        return Owned(f"{API}/agents", f"{API}/agents/{uuid}", {"fields": {"name": "Mine now"}}), uuid
    if kind == "agent_tool":
        uuid = await create_tool(client, owner, await create_agent(client, owner))
        body = {"fields": {"description": "Mine now"}}
        return Owned(f"{API}/agent-tools", f"{API}/agent-tools/{uuid}", body, list_key="id"), uuid
    if kind == "agent_webhook":
        uuid = await create_webhook(client, owner, await create_agent(client, owner))
        body = {"fields": {"webhook_config": webhook_config()}}
        return Owned(f"{API}/agent-webhooks", f"{API}/agent-webhooks/{uuid}", body, list_key="id"), uuid
    assert kind == "knowledge_item"
    uuid = await create_knowledge(client, owner)
    return Owned(f"{API}/knowledge-base", f"{API}/knowledge-base/{uuid}", None), uuid


KINDS = ["project", "clip", "agent", "agent_tool", "agent_webhook", "knowledge_item"]


def listed_ids(body: dict, key: str) -> list[str]:
    return [str(item["agent"]["uuid"] if "agent" in item else item[key]) for item in body["items"]]


async def upstream_calls(simulator: httpx.AsyncClient) -> list[dict]:
    return [r for r in (await simulator.get("/_sim/requests")).json() if r["path"].startswith("/api/v2/")]


@pytest.fixture
async def alice(session: AsyncSession) -> Customer:
    return await create_customer(session, credits="5.00")


@pytest.fixture
async def bob(session: AsyncSession) -> Customer:
    return await create_customer(session, credits="5.00")


@pytest.mark.parametrize("kind", KINDS)
async def test_b_cannot_reach_as_objects_and_never_calls_upstream_trying(
    client: httpx.AsyncClient, simulator: httpx.AsyncClient, alice: Customer, bob: Customer, kind: str
):
    owned, uuid = await make(kind, client, alice)
    await simulator.delete("/_sim/requests")

    if not owned.list_url.endswith("/clips"):  # B's list of the same kind is served, and empty
        mine = await client.get(owned.list_url, headers=bob.headers)
        assert mine.status_code == 200
        assert mine.json()["items"] == []
        assert mine.json()["total_count"] == 0
    else:  # clips are listed through A's project, which B cannot name
        assert (await client.get(owned.list_url, headers=bob.headers)).status_code == 404
    assert (await client.get(owned.item_url, headers=bob.headers)).status_code == 404
    if owned.update_body is not None:
        assert (await client.put(owned.item_url, json=owned.update_body, headers=bob.headers)).status_code == 404
    assert (await client.delete(owned.item_url, headers=bob.headers)).status_code == 404
    assert await upstream_calls(simulator) == []

    # A's own operations all work, and A's object survived B's attempts.
    listed = await client.get(owned.list_url, headers=alice.headers)
    assert listed_ids(listed.json(), owned.list_key) == [uuid]
    assert (await client.get(owned.item_url, headers=alice.headers)).status_code == 200
    if owned.update_body is not None:
        assert (await client.put(owned.item_url, json=owned.update_body, headers=alice.headers)).status_code == 200
    assert (await client.delete(owned.item_url, headers=alice.headers)).status_code == 200
    assert (await client.get(owned.item_url, headers=alice.headers)).status_code == 404


async def test_b_cannot_nest_under_as_parents(
    client: httpx.AsyncClient, simulator: httpx.AsyncClient, alice: Customer, bob: Customer
):
    project = await create_project(client, alice)
    agent = await create_agent(client, alice)
    clip = (await create_clip(client, alice, project))["item"]["uuid"]
    bobs_project = await create_project(client, bob)
    await simulator.delete("/_sim/requests")

    clip_body = {"fields": {"body": "Hijack", "voice_uuid": VOICE_UUID}}
    assert (
        await client.post(f"{API}/projects/{project}/clips", json=clip_body, headers=bob.headers)
    ).status_code == 404
    tool = {"agent_uuid": agent, "name": "t", "description": "d", "tool_type": "client", "tool_config": {}}
    assert (await client.post(f"{API}/agent-tools", json={"fields": tool}, headers=bob.headers)).status_code == 404
    hook = {"agent_uuid": agent, "webhook_type": "pre_call", "webhook_config": webhook_config()}
    assert (await client.post(f"{API}/agent-webhooks", json={"fields": hook}, headers=bob.headers)).status_code == 404
    # A's clip id under B's own project is not A's clip either.
    assert (await client.get(f"{API}/projects/{bobs_project}/clips/{clip}", headers=bob.headers)).status_code == 404
    assert await upstream_calls(simulator) == []


async def test_the_account_wide_list_upstream_does_hold_both_users_objects(
    client: httpx.AsyncClient, app, alice: Customer, bob: Customer
):
    """The premise of this suite: Resemble (here, the simulator) lists the whole shared account."""
    mine, theirs = await create_project(client, alice), await create_project(client, bob)
    account = await app.state.resources.upstream.request_json(
        "GET", "projects", params={"page": 1}, idempotent=True, operation="test"
    )
    assert {item["uuid"] for item in account["items"]} == {mine, theirs}
