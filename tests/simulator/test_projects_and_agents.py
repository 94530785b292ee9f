"""Projects, clips, agents (with tools and webhooks) and knowledge items on the simulator's app API."""

from __future__ import annotations

import base64
import io
import wave
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import pytest
from fastapi import FastAPI

from voicegate.simulator import close_simulator_app, create_simulator_app

from .conftest import AUTH, VOICE_UUID

PROJECT = {"name": "Book", "description": "", "is_collaborative": False, "is_archived": False}
HOOK = {"api_schema": {"url": "https://hooks.example.com/a", "method": "POST"}}


async def post(client: httpx.AsyncClient, path: str, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    response = await client.post(f"/api/v2/{path}", json=body, headers=AUTH)
    assert response.status_code == status, response.text
    return dict(response.json())


class TestProjects:
    async def test_create_needs_all_four_fields(self, client: httpx.AsyncClient):
        response = await client.post("/api/v2/projects", json={"name": "Book"}, headers=AUTH)
        assert response.status_code == 422
        assert set(response.json()["errors"]) == {"description", "is_collaborative", "is_archived"}

    async def test_crud_and_paged_list(self, client: httpx.AsyncClient):
        uuid = (await post(client, "projects", PROJECT))["item"]["uuid"]
        updated = await client.put(f"/api/v2/projects/{uuid}", json={"is_archived": True}, headers=AUTH)
        assert updated.json()["item"]["is_archived"] is True
        assert updated.json()["item"]["name"] == "Book"
        listed = (await client.get("/api/v2/projects?page=1", headers=AUTH)).json()
        assert (listed["total_results"], listed["page_count"], [i["uuid"] for i in listed["items"]]) == (1, 1, [uuid])
        assert (await client.delete(f"/api/v2/projects/{uuid}", headers=AUTH)).status_code == 200
        assert (await client.get(f"/api/v2/projects/{uuid}", headers=AUTH)).status_code == 404


class TestClips:
    async def test_sync_create_carries_audio_and_duration(self, client: httpx.AsyncClient):
        project = (await post(client, "projects", PROJECT))["item"]["uuid"]
        body = {"body": "Hello there, listener.", "voice_uuid": VOICE_UUID, "sample_rate": 16000, "raw": True}
        item = (await post(client, f"projects/{project}/clips", body))["item"]
        audio = base64.b64decode(item["raw_audio"])
        with wave.open(io.BytesIO(audio)) as wav:
            assert wav.getframerate() == 16000
            assert wav.getnframes() / 16000 == pytest.approx(item["duration"], abs=0.01)
        media = await client.get(item["audio_src"].replace("http://sim", ""))
        assert media.content == audio
        assert (await client.get(f"/api/v2/projects/{project}/clips/{item['uuid']}", headers=AUTH)).status_code == 200

    async def test_without_raw_there_is_no_inline_audio(self, client: httpx.AsyncClient):
        project = (await post(client, "projects", PROJECT))["item"]["uuid"]
        item = (await post(client, f"projects/{project}/clips", {"body": "Hi", "voice_uuid": VOICE_UUID}))["item"]
        assert "raw_audio" not in item
        assert item["audio_src"]

    async def test_validation_and_unknown_project(self, client: httpx.AsyncClient):
        project = (await post(client, "projects", PROJECT))["item"]["uuid"]
        bad = await client.post(
            f"/api/v2/projects/{project}/clips",
            json={"body": "", "voice_uuid": "nope", "sample_rate": 48000},
            headers=AUTH,
        )
        assert bad.status_code == 422
        assert set(bad.json()["errors"]) == {"body", "voice_uuid", "sample_rate"}
        missing = await client.post(
            "/api/v2/projects/nope/clips", json={"body": "Hi", "voice_uuid": VOICE_UUID}, headers=AUTH
        )
        assert missing.status_code == 404

    async def test_deleting_a_project_deletes_its_clips(self, client: httpx.AsyncClient):
        project = (await post(client, "projects", PROJECT))["item"]["uuid"]
        clip = (await post(client, f"projects/{project}/clips", {"body": "Hi", "voice_uuid": VOICE_UUID}))["item"]
        await client.delete(f"/api/v2/projects/{project}", headers=AUTH)
        assert (await client.get(f"/api/v2/projects/{project}/clips/{clip['uuid']}", headers=AUTH)).status_code == 404


class TestAgents:
    async def test_nested_item_tools_webhooks_and_cascading_delete(self, client: httpx.AsyncClient):
        created = await post(client, "agents", {"name": "Desk", "voice_uuid": VOICE_UUID, "asr": {"model": "nova-3"}})
        agent = created["item"]["agent"]["uuid"]
        assert created["item"]["asr"]["model"] == "nova-3"
        assert created["item"]["tts"]["voice_name"] == "Ellie"
        tool = await post(
            client,
            f"agents/{agent}/tools",
            {
                "name": "lookup",
                "description": "d",
                "tool_type": "webhook",
                "tool_config": HOOK,
            },
        )
        dup = await client.post(
            f"/api/v2/agents/{agent}/tools",
            json={
                "name": "lookup",
                "description": "d",
                "tool_type": "client",
                "tool_config": {},
            },
            headers=AUTH,
        )
        assert dup.status_code == 422
        await post(client, f"agents/{agent}/webhooks", {"webhook_type": "pre_call", "webhook_config": HOOK})
        second = await client.post(
            f"/api/v2/agents/{agent}/webhooks", json={"webhook_type": "pre_call", "webhook_config": HOOK}, headers=AUTH
        )
        assert second.status_code == 422
        got = (await client.get(f"/api/v2/agents/{agent}", headers=AUTH)).json()["item"]
        assert (got["tools_count"], got["webhooks_count"]) == (1, 1)
        patched = await client.patch(f"/api/v2/agents/{agent}", json={"llm": {"temperature": 0.9}}, headers=AUTH)
        assert patched.json()["item"]["llm"]["temperature"] == 0.9
        assert patched.json()["item"]["llm"]["model"] == "gpt-4o-mini"  # nested objects are merged
        assert (await client.delete(f"/api/v2/agents/{agent}", headers=AUTH)).status_code == 200
        gone = await client.get(f"/api/v2/agents/{agent}/tools/{tool['item']['id']}", headers=AUTH)
        assert gone.status_code == 404

    async def test_system_tools_cannot_be_created_and_catalogues_exist(self, client: httpx.AsyncClient):
        agent = (await post(client, "agents", {"name": "Desk", "voice_uuid": VOICE_UUID}))["item"]["agent"]["uuid"]
        system = await client.post(
            f"/api/v2/agents/{agent}/tools",
            json={
                "name": "x",
                "description": "d",
                "tool_type": "system",
                "tool_config": {},
            },
            headers=AUTH,
        )
        assert system.status_code == 422
        assert (await client.get("/api/v2/agents/capabilities", headers=AUTH)).json()["asr_capabilities"]
        assert (await client.get("/api/v2/agents/system-tools", headers=AUTH)).json()["items"]


class TestKnowledgeItems:
    async def test_pending_then_ready_with_pagination_object_and_team_limit(
        self, client: httpx.AsyncClient, sim_app: FastAPI
    ):
        body = {"title": "FAQ", "description": "d", "source_type": "text", "raw_text": "We open at nine."}
        item = (await post(client, "knowledge_items", body, status=201))["item"]
        assert item["status"] == "pending"
        await anyio.sleep(sim_app.state.simulator.settings.job_delay_s + 0.05)
        assert (await client.get(f"/api/v2/knowledge_items/{item['uuid']}", headers=AUTH)).json()["item"][
            "status"
        ] == "ready"
        for _ in range(2):
            await post(client, "knowledge_items", body, status=201)
        over = await client.post("/api/v2/knowledge_items", json=body, headers=AUTH)
        assert over.status_code == 422
        listed = (await client.get("/api/v2/knowledge_items?per_page=2", headers=AUTH)).json()
        assert listed["pagination"] == {"page": 1, "per_page": 2, "total_count": 3, "total_pages": 2}

    async def test_url_sources_must_be_http(self, client: httpx.AsyncClient):
        body = {"title": "Site", "description": "d", "source_type": "url", "url": "ftp://example.com/"}
        assert (await client.post("/api/v2/knowledge_items", json=body, headers=AUTH)).status_code == 422


@pytest.fixture
async def open_sim() -> AsyncIterator[httpx.AsyncClient]:
    app = create_simulator_app(None)  # any key: one account per key
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim") as client:
        yield client
    await close_simulator_app(app)


async def test_state_is_per_account_and_lists_are_account_wide(open_sim: httpx.AsyncClient):
    team_a, team_b = {"Authorization": "Bearer key-a"}, {"Authorization": "Bearer key-b"}
    for name in ("one", "two"):
        await open_sim.post("/api/v2/projects", json={**PROJECT, "name": name}, headers=team_a)
    created = await open_sim.post("/api/v2/agents", json={"name": "Desk", "voice_uuid": VOICE_UUID}, headers=team_a)
    agent = created.json()["item"]["agent"]["uuid"]
    assert [p["name"] for p in (await open_sim.get("/api/v2/projects", headers=team_a)).json()["items"]] == [
        "one",
        "two",
    ]
    assert (await open_sim.get("/api/v2/projects", headers=team_b)).json()["items"] == []
    assert (await open_sim.get(f"/api/v2/agents/{agent}", headers=team_b)).status_code == 404
    assert (await open_sim.get("/api/v2/agents", headers=team_a)).json()["count"] == 1


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v2/projects"),
        ("POST", "/api/v2/projects/p1/clips"),
        ("GET", "/api/v2/agents/a1/tools"),
        ("PATCH", "/api/v2/agents/a1/webhooks/w1"),
        ("DELETE", "/api/v2/knowledge_items/k1"),
        ("GET", "/api/v2/agents/capabilities"),
    ],
)
async def test_faults_cover_the_new_routes(client: httpx.AsyncClient, method: str, path: str):
    await client.post("/_sim/faults", json={"path": path.rsplit("/", 1)[0], "status": 503})
    response = await client.request(method, path, json={}, headers=AUTH)
    assert response.status_code == 503
    assert response.json()["message"].startswith("Simulated fault")
