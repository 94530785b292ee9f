from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import Customer
from tests.resemble.agents.conftest import (
    API,
    PUBLIC_HOOK,
    VOICE_UUID,
    create,
    create_agent,
    create_knowledge,
    create_tool,
    create_webhook,
    upstream_calls,
    webhook_config,
)
from tests.resemble.catalogue.conftest import remove_upstream_voice
from voicegate.db.models import ProviderResembleRequest, ProviderResembleResource


class TestAgents:
    async def test_crud_round_trip(self, client: httpx.AsyncClient, customer: Customer, simulator: httpx.AsyncClient):
        agent = await create_agent(client, customer)
        got = await client.get(f"{API}/agents/{agent}", headers=customer.headers)
        assert got.status_code == 200
        assert got.json()["item"]["agent"]["name"] == "Receptionist"
        assert got.json()["item"]["tts"]["voice_uuid"] == VOICE_UUID

        updated = await client.put(
            f"{API}/agents/{agent}",
            json={"fields": {"name": "Front desk", "llm": {"temperature": 0.5}}},
            headers=customer.headers,
        )
        assert updated.status_code == 200, updated.text
        assert updated.json()["item"]["agent"]["name"] == "Front desk"
        assert updated.json()["item"]["llm"]["temperature"] == 0.5
        assert [r for r in await upstream_calls(simulator) if r["method"] == "PATCH"]  # Resemble's verb

        listed = await client.get(f"{API}/agents?page=1&page_size=10", headers=customer.headers)
        assert [item["agent"]["uuid"] for item in listed.json()["items"]] == [agent]
        assert (await client.delete(f"{API}/agents/{agent}", headers=customer.headers)).status_code == 200
        assert (await client.get(f"{API}/agents/{agent}", headers=customer.headers)).status_code == 404

    @pytest.mark.parametrize(
        ("fields", "bad"),
        [
            ({"voice_uuid": VOICE_UUID}, ["name"]),
            ({"name": "A", "voice_uuid": VOICE_UUID, "asr": {}}, ["asr", "model"]),
            (
                {"name": "A", "voice_uuid": VOICE_UUID, "search_mode": "fast", "max_chunks_per_query": 0},
                ["search_mode"],
            ),
            ({"name": "A", "voice_uuid": VOICE_UUID, "unknown": 1}, ["unknown"]),
        ],
    )
    async def test_field_validation_is_422_before_upstream(
        self, client: httpx.AsyncClient, customer: Customer, simulator: httpx.AsyncClient, fields: dict, bad: list
    ):
        response = await client.post(f"{API}/agents", json={"fields": fields}, headers=customer.headers)
        assert response.status_code == 422
        locs = [error["loc"] for error in response.json()["detail"]]
        assert any(loc[2 : 2 + len(bad)] == bad for loc in locs), locs
        assert await upstream_calls(simulator) == []

    async def test_an_unknown_voice_is_404_without_an_upstream_call(
        self, client: httpx.AsyncClient, customer: Customer, simulator: httpx.AsyncClient
    ):
        await client.get(f"{API}/tts/voices", headers=customer.headers)  # the catalogue snapshot
        await simulator.delete("/_sim/requests")
        response = await client.post(
            f"{API}/agents", json={"fields": {"name": "A", "voice_uuid": "nosuchvoice"}}, headers=customer.headers
        )
        assert (response.status_code, response.json()) == (404, {"detail": "Voice not found"})
        assert await upstream_calls(simulator) == []

    async def test_upstream_validation_is_422_with_resembles_message(
        self, app: FastAPI, client: httpx.AsyncClient, customer: Customer
    ):
        await client.get(f"{API}/tts/voices", headers=customer.headers)
        remove_upstream_voice(app, VOICE_UUID)  # withdrawn at Resemble since the snapshot was taken
        response = await client.post(
            f"{API}/agents", json={"fields": {"name": "A", "voice_uuid": VOICE_UUID}}, headers=customer.headers
        )
        assert response.status_code == 422
        assert "voice_uuid" in response.json()["detail"]

    async def test_unsafe_webhook_urls_inside_an_agent_are_refused(
        self, client: httpx.AsyncClient, customer: Customer, simulator: httpx.AsyncClient
    ):
        fields = {
            "name": "A",
            "voice_uuid": VOICE_UUID,
            "webhooks": [
                {"webhook_type": "pre_call", "webhook_config": webhook_config("http://127.0.0.1:8080/admin")},
                {"webhook_type": "post_call", "webhook_config": webhook_config("http://10.1.2.3/hook")},
            ],
        }
        response = await client.post(f"{API}/agents", json={"fields": fields}, headers=customer.headers)
        assert response.status_code == 422
        detail = response.json()["detail"]
        assert "webhooks.0.webhook_config.api_schema.url" in detail
        assert "webhooks.1.webhook_config.api_schema.url" in detail
        assert await upstream_calls(simulator) == []

    async def test_catalogues_pass_through(self, client: httpx.AsyncClient, customer: Customer, session: AsyncSession):
        capabilities = await client.get(f"{API}/agents/capabilities", headers=customer.headers)
        assert capabilities.status_code == 200
        assert capabilities.json()["asr_capabilities"]
        tools = await client.get(f"{API}/agents/system-tools", headers=customer.headers)
        assert tools.status_code == 200
        assert {item["identifier"] for item in tools.json()["items"]} >= {"end_call"}
        rows = (
            await session.scalars(
                select(ProviderResembleRequest.operation).where(ProviderResembleRequest.user_id == customer.user.id)
            )
        ).all()
        assert sorted(rows) == ["get_capabilities", "get_system_tools"]


class TestToolsAndWebhooks:
    async def test_flat_routes_remember_the_agent(self, client: httpx.AsyncClient, customer: Customer):
        first, second = await create_agent(client, customer, "One"), await create_agent(client, customer, "Two")
        tool_a = await create_tool(client, customer, first)
        tool_b = await create_tool(client, customer, second)
        hook = await create_webhook(client, customer, first)

        listed = (await client.get(f"{API}/agent-tools", headers=customer.headers)).json()
        assert [(i["id"], i["agent_uuid"]) for i in listed["items"]] == [(tool_a, first), (tool_b, second)]
        got = await client.get(f"{API}/agent-tools/{tool_a}", headers=customer.headers)
        assert (got.json()["item"]["name"], got.json()["item"]["agent_uuid"]) == ("lookup", first)
        updated = await client.put(
            f"{API}/agent-tools/{tool_a}",
            json={"fields": {"description": "Finds orders", "active": False}},
            headers=customer.headers,
        )
        assert updated.status_code == 200, updated.text
        assert (updated.json()["item"]["description"], updated.json()["item"]["active"]) == ("Finds orders", False)

        hooks = (await client.get(f"{API}/agent-webhooks", headers=customer.headers)).json()
        assert [(i["id"], i["agent_uuid"], i["webhook_type"]) for i in hooks["items"]] == [(hook, first, "post_call")]
        changed = await client.put(
            f"{API}/agent-webhooks/{hook}",
            json={"fields": {"webhook_config": webhook_config("https://93.184.216.34/v2")}},
            headers=customer.headers,
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["item"]["webhook_config"]["api_schema"]["url"] == "https://93.184.216.34/v2"
        assert (await client.delete(f"{API}/agent-tools/{tool_b}", headers=customer.headers)).status_code == 200
        assert (await client.delete(f"{API}/agent-webhooks/{hook}", headers=customer.headers)).status_code == 200
        assert (await client.get(f"{API}/agent-webhooks", headers=customer.headers)).json()["total_count"] == 0

    async def test_deleting_an_agent_retires_its_tools_and_webhooks(
        self, client: httpx.AsyncClient, session: AsyncSession, customer: Customer
    ):
        agent = await create_agent(client, customer)
        tool, hook = await create_tool(client, customer, agent), await create_webhook(client, customer, agent)
        assert (await client.delete(f"{API}/agents/{agent}", headers=customer.headers)).status_code == 200
        rows = (
            await session.scalars(
                select(ProviderResembleResource).where(ProviderResembleResource.upstream_id.in_([tool, hook]))
            )
        ).all()
        assert len(rows) == 2
        assert all(row.deleted_at is not None for row in rows)
        assert (await client.get(f"{API}/agent-tools/{tool}", headers=customer.headers)).status_code == 404
        assert (await client.get(f"{API}/agent-tools", headers=customer.headers)).json()["items"] == []

    async def test_create_needs_an_agent_the_caller_owns(
        self, client: httpx.AsyncClient, customer: Customer, simulator: httpx.AsyncClient
    ):
        fields = {"agent_uuid": "deadbeef", "webhook_type": "pre_call", "webhook_config": webhook_config()}
        response = await client.post(f"{API}/agent-webhooks", json={"fields": fields}, headers=customer.headers)
        assert response.status_code == 404
        assert response.json() == {"detail": "Agent not found"}
        missing = await client.post(
            f"{API}/agent-webhooks",
            json={"fields": {"webhook_type": "pre_call", "webhook_config": webhook_config()}},
            headers=customer.headers,
        )
        assert missing.status_code == 422
        assert await upstream_calls(simulator) == []

    @pytest.mark.parametrize(
        "url",
        [
            "http://127.0.0.1/hook",
            "http://localhost:9000/x",
            "http://169.254.169.254/latest/meta-data",
            "ftp://93.184.216.34/x",
            "http://[::1]/x",
            "https://user:pw@93.184.216.34/x",
        ],
    )
    async def test_tool_and_webhook_urls_must_be_public_http(
        self, client: httpx.AsyncClient, customer: Customer, simulator: httpx.AsyncClient, url: str
    ):
        agent = await create_agent(client, customer)
        await simulator.delete("/_sim/requests")
        tool = {
            "agent_uuid": agent,
            "name": "t",
            "description": "d",
            "tool_type": "webhook",
            "tool_config": webhook_config(url),
        }
        hook = {"agent_uuid": agent, "webhook_type": "pre_call", "webhook_config": webhook_config(url)}
        for route, fields in (("agent-tools", tool), ("agent-webhooks", hook)):
            response = await client.post(f"{API}/{route}", json={"fields": fields}, headers=customer.headers)
            assert response.status_code == 422, (route, response.text)
            assert "api_schema.url must be a public http(s) URL" in response.json()["detail"]
        assert await upstream_calls(simulator) == []

    async def test_a_webhook_tool_needs_an_api_schema(self, client: httpx.AsyncClient, customer: Customer):
        agent = await create_agent(client, customer)
        fields = {"agent_uuid": agent, "name": "t", "description": "d", "tool_type": "webhook", "tool_config": {}}
        response = await client.post(f"{API}/agent-tools", json={"fields": fields}, headers=customer.headers)
        assert response.status_code == 422
        client_tool = {**fields, "tool_type": "client", "tool_config": {"return_message": "Done"}}
        assert (
            await client.post(f"{API}/agent-tools", json={"fields": client_tool}, headers=customer.headers)
        ).status_code == 200

    async def test_private_targets_are_allowed_when_configured(
        self, client: httpx.AsyncClient, customer: Customer, settings
    ):
        settings.outbound_allow_private_networks = True
        agent = await create_agent(client, customer)
        fields = {
            "agent_uuid": agent,
            "webhook_type": "pre_call",
            "webhook_config": webhook_config("http://10.0.0.8/hook"),
        }
        response = await client.post(f"{API}/agent-webhooks", json={"fields": fields}, headers=customer.headers)
        assert response.status_code == 200, response.text


class TestKnowledgeBase:
    async def test_text_and_url_sources(
        self, client: httpx.AsyncClient, customer: Customer, simulator: httpx.AsyncClient
    ):
        text = await create_knowledge(client, customer)
        url_item = await create(
            client,
            customer,
            "knowledge-base",
            {
                "title": "Site",
                "description": "Our site",
                "source_type": "url",
                "url": PUBLIC_HOOK,
            },
        )
        sent = [r for r in await upstream_calls(simulator) if r["path"] == "/api/v2/knowledge_items"]
        assert sent[-1]["json"]["url"] == PUBLIC_HOOK
        got = await client.get(f"{API}/knowledge-base/{text}", headers=customer.headers)
        assert got.status_code == 200
        assert got.json()["item"]["source_type"] == "text"
        listed = (await client.get(f"{API}/knowledge-base", headers=customer.headers)).json()
        assert [item["uuid"] for item in listed["items"]] == [text, url_item["uuid"]]
        assert (await client.delete(f"{API}/knowledge-base/{text}", headers=customer.headers)).status_code == 200
        assert (await client.get(f"{API}/knowledge-base", headers=customer.headers)).json()["total_count"] == 1

    @pytest.mark.parametrize(
        "fields",
        [
            {"title": "T", "description": "D", "source_type": "url", "url": "file:///etc/passwd"},
            {"title": "T", "description": "D", "source_type": "url", "url": "http://192.168.1.1/"},
            {"title": "T", "description": "D", "source_type": "url"},
            {"title": "T", "description": "D", "source_type": "text"},
            {"title": "T", "description": "D", "source_type": "document"},
            {"title": "x" * 51, "description": "D", "source_type": "text", "raw_text": "hi"},
            {"title": "T", "description": "D", "source_type": "text", "raw_text": "x" * 10_001},
        ],
    )
    async def test_bad_sources_are_422_before_upstream(
        self, client: httpx.AsyncClient, customer: Customer, simulator: httpx.AsyncClient, fields: dict
    ):
        response = await client.post(f"{API}/knowledge-base", json={"fields": fields}, headers=customer.headers)
        assert response.status_code == 422
        assert await upstream_calls(simulator) == []

    async def test_update_is_refused_clearly(
        self, client: httpx.AsyncClient, customer: Customer, simulator: httpx.AsyncClient
    ):
        item = await create_knowledge(client, customer)
        await simulator.delete("/_sim/requests")
        response = await client.put(
            f"{API}/knowledge-base/{item}", json={"fields": {"title": "New"}}, headers=customer.headers
        )
        assert response.status_code == 422
        assert "delete it and create a new one" in response.json()["detail"]
        assert await upstream_calls(simulator) == []

    async def test_resembles_team_limit_comes_back_as_422(self, client: httpx.AsyncClient, customer: Customer):
        for index in range(3):
            await create_knowledge(client, customer, f"Item {index}")
        fields = {"title": "Four", "description": "D", "source_type": "text", "raw_text": "x"}
        response = await client.post(f"{API}/knowledge-base", json={"fields": fields}, headers=customer.headers)
        assert response.status_code == 422
        assert "at most 3" in response.json()["detail"]
