"""Every method of the SDK's projects, clips and agents-family groups, against real servers on one shared account."""

from __future__ import annotations

import io
import wave
from decimal import Decimal

import httpx
import pytest
from indoxhub import Client
from indoxhub.exceptions import APIError, ValidationError

from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

VOICE_UUID = "55592656"
HOOK = {"api_schema": {"url": "https://93.184.216.34/hooks/call", "method": "POST"}}


def test_projects_and_clips(stack: Stack):
    user = stack.new_user(credits="5.00")
    client = Client(api_key=user["api_key"], base_url=stack.gateway)
    projects = client.resemble.projects

    project = projects.create("Audiobook", description="Chapter by chapter")["item"]
    uuid = project["uuid"]
    assert projects.get(uuid)["item"]["description"] == "Chapter by chapter"
    assert projects.update(uuid, is_archived=True)["item"]["is_archived"] is True
    listed = projects.list(page=1, page_size=10)
    assert (listed["total_count"], [item["uuid"] for item in listed["items"]]) == (1, [uuid])

    clip = projects.clips.create(uuid, {"body": "It was a bright cold day.", "voice_uuid": VOICE_UUID, "title": "One"})
    downloaded = httpx.get(clip["audio_url"])
    assert downloaded.status_code == 200
    with wave.open(io.BytesIO(downloaded.content)) as audio:
        assert audio.getnframes() / audio.getframerate() == pytest.approx(clip["audio_duration"], abs=0.05)
    billing = clip["billing"]
    cost = (Decimal(str(billing["quantity"])) * Decimal("0.0005")).quantize(Decimal("0.000001"))
    assert Decimal(billing["charged"]) == (cost * Decimal("1.2")).quantize(Decimal("0.000001"))
    assert Decimal(stack.balance(user["api_key"])) == Decimal("5.00") - Decimal(billing["charged"])
    assert clip["resemble_url"]

    clip_uuid = clip["item"]["uuid"]
    assert projects.clips.get(uuid, clip_uuid)["item"]["title"] == "One"
    assert [item["uuid"] for item in projects.clips.list(uuid)["items"]] == [clip_uuid]
    assert projects.clips.delete(uuid, clip_uuid)["uuid"] == clip_uuid
    assert projects.clips.list(uuid, page=1, page_size=10)["items"] == []
    assert projects.delete(uuid) == {"success": True, "uuid": uuid}
    with pytest.raises(APIError):
        projects.get(uuid)


def test_agents_tools_webhooks_and_knowledge_base(stack: Stack):
    client = Client(api_key=stack.new_user()["api_key"], base_url=stack.gateway)
    agents, tools, hooks, kb = (
        client.resemble.agents,
        client.resemble.agent_tools,
        client.resemble.agent_webhooks,
        client.resemble.knowledge_base,
    )
    assert agents.capabilities()["llm_capabilities"]
    assert agents.system_tools()["items"]

    agent = agents.create({"name": "Front desk", "voice_uuid": VOICE_UUID})["item"]["agent"]["uuid"]
    assert agents.get(agent)["item"]["agent"]["name"] == "Front desk"
    assert agents.update(agent, {"name": "Reception"})["item"]["agent"]["name"] == "Reception"
    assert [item["agent"]["uuid"] for item in agents.list()["items"]] == [agent]

    tool = tools.create(
        {
            "agent_uuid": agent,
            "name": "lookup",
            "description": "Finds an order",
            "tool_type": "webhook",
            "tool_config": HOOK,
        }
    )["item"]
    assert tool["agent_uuid"] == agent
    assert tools.get(tool["id"])["item"]["name"] == "lookup"
    assert tools.update(tool["id"], {"active": False})["item"]["active"] is False
    assert [item["id"] for item in tools.list(page=1, page_size=10)["items"]] == [tool["id"]]

    hook = hooks.create({"agent_uuid": agent, "webhook_type": "post_call", "webhook_config": HOOK})["item"]
    assert hooks.get(hook["id"])["item"]["webhook_type"] == "post_call"
    assert hooks.update(hook["id"], {"webhook_type": "pre_call"})["item"]["webhook_type"] == "pre_call"
    assert [item["id"] for item in hooks.list()["items"]] == [hook["id"]]
    assert hooks.delete(hook["id"])["success"] is True

    item = kb.create({"title": "FAQ", "description": "Hours", "source_type": "text", "raw_text": "Open at 9."})["item"]
    assert kb.get(item["uuid"])["item"]["title"] == "FAQ"
    with pytest.raises(ValidationError):
        kb.update(item["uuid"], {"title": "New"})
    assert [entry["uuid"] for entry in kb.list()["items"]] == [item["uuid"]]
    assert kb.delete(item["uuid"])["success"] is True

    assert tools.delete(tool["id"])["success"] is True
    assert agents.delete(agent)["success"] is True
    assert tools.list()["items"] == []


def test_another_user_on_the_same_account_sees_nothing(stack: Stack):
    alice = Client(api_key=stack.new_user()["api_key"], base_url=stack.gateway)
    bob = Client(api_key=stack.new_user()["api_key"], base_url=stack.gateway)
    project = alice.resemble.projects.create("Private")["item"]["uuid"]
    assert bob.resemble.projects.list()["items"] == []
    with pytest.raises(APIError):
        bob.resemble.projects.get(project)
    with pytest.raises(APIError):
        bob.resemble.projects.delete(project)
    assert alice.resemble.projects.get(project)["item"]["name"] == "Private"
