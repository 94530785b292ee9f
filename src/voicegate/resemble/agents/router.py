"""`/resemble/agents`, `/agent-tools`, `/agent-webhooks` and `/knowledge-base`. Tools and webhooks are flat here
but nested under an agent at Resemble: the caller names the agent as `fields.agent_uuid` on create."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from voicegate.deps import ResourcesDep, SettingsDep
from voicegate.errors import Unprocessable
from voicegate.ratelimit.dependencies import RateLimit
from voicegate.resemble.agents import service
from voicegate.resemble.agents.schemas import (
    AgentCreate,
    AgentRead,
    AgentUpdate,
    Capabilities,
    KnowledgeCreate,
    KnowledgeRead,
    KnowledgeUpdate,
    SystemTools,
    ToolCreate,
    ToolRead,
    ToolUpdate,
    WebhookCreate,
    WebhookRead,
    WebhookUpdate,
)
from voicegate.resemble.ownership import service as ownership
from voicegate.resemble.ownership.dependencies import Owned, ScopeDep
from voicegate.resemble.ownership.kinds import Kind
from voicegate.resemble.ownership.repository import OwnedResource
from voicegate.resemble.ownership.schemas import Deleted, Envelope, Paging, error_responses
from voicegate.resemble.ownership.schemas import Page as PageOf

router = APIRouter(prefix="/resemble", tags=["agents"], dependencies=[Depends(RateLimit("agents"))])

ERRORS = error_responses()

AgentDep = Annotated[OwnedResource, Depends(Owned(Kind.AGENT, "agent_uuid"))]
ToolDep = Annotated[OwnedResource, Depends(Owned(Kind.AGENT_TOOL, "tool_uuid"))]
WebhookDep = Annotated[OwnedResource, Depends(Owned(Kind.AGENT_WEBHOOK, "webhook_uuid"))]
KnowledgeDep = Annotated[OwnedResource, Depends(Owned(Kind.KNOWLEDGE_ITEM, "item_uuid"))]
PagingDep = Annotated[Paging, Query()]


# Agents. The catalogues are declared before `/agents/{agent_uuid}` so their paths are not read as ids.


@router.get("/agents/capabilities", response_model=Capabilities, responses=ERRORS)
async def agent_capabilities(scope: ScopeDep) -> dict[str, Any]:
    return await service.catalogue(scope, "agents/capabilities")


@router.get("/agents/system-tools", response_model=SystemTools, responses=ERRORS)
async def agent_system_tools(scope: ScopeDep) -> dict[str, Any]:
    return await service.catalogue(scope, "agents/system-tools")


@router.get("/agents", response_model=PageOf[AgentRead], responses=ERRORS)
async def list_agents(scope: ScopeDep, paging: PagingDep) -> dict[str, Any]:
    return await ownership.list_page(scope, Kind.AGENT, page=paging.page, page_size=paging.page_size)


@router.post("/agents", response_model=Envelope[AgentRead], responses=ERRORS)
async def create_agent(scope: ScopeDep, body: AgentCreate, resources: ResourcesDep) -> dict[str, Any]:
    allow_private = resources.settings.outbound_allow_private_networks
    return await service.create_agent(scope, body.fields, voices=resources.voices, allow_private=allow_private)


@router.get("/agents/{agent_uuid}", response_model=Envelope[AgentRead], responses=ERRORS)
async def get_agent(scope: ScopeDep, agent: AgentDep) -> dict[str, Any]:
    return await ownership.fetch(scope, agent)


@router.put("/agents/{agent_uuid}", response_model=Envelope[AgentRead], responses=ERRORS)
async def update_agent(scope: ScopeDep, agent: AgentDep, body: AgentUpdate, resources: ResourcesDep) -> dict[str, Any]:
    allow_private = resources.settings.outbound_allow_private_networks
    return await service.update_agent(scope, agent, body.fields, voices=resources.voices, allow_private=allow_private)


@router.delete("/agents/{agent_uuid}", response_model=Deleted, responses=ERRORS)
async def delete_agent(scope: ScopeDep, agent: AgentDep) -> Deleted:
    await ownership.delete(scope, agent)  # Resemble deletes the agent's tools and webhooks; so do our rows
    return Deleted(uuid=agent.upstream_id)


# Agent tools


@router.get("/agent-tools", response_model=PageOf[ToolRead], responses=ERRORS)
async def list_tools(scope: ScopeDep, paging: PagingDep) -> dict[str, Any]:
    return await ownership.list_page(
        scope, Kind.AGENT_TOOL, page=paging.page, page_size=paging.page_size, parent_as=service.PARENT_FIELD
    )


@router.post("/agent-tools", response_model=Envelope[ToolRead], responses=ERRORS)
async def create_tool(scope: ScopeDep, body: ToolCreate, settings: SettingsDep) -> dict[str, Any]:
    return await service.create_tool(scope, body.fields, allow_private=settings.outbound_allow_private_networks)


@router.get("/agent-tools/{tool_uuid}", response_model=Envelope[ToolRead], responses=ERRORS)
async def get_tool(scope: ScopeDep, tool: ToolDep) -> dict[str, Any]:
    return await service.fetch_child(scope, tool)


@router.put("/agent-tools/{tool_uuid}", response_model=Envelope[ToolRead], responses=ERRORS)
async def update_tool(scope: ScopeDep, tool: ToolDep, body: ToolUpdate, settings: SettingsDep) -> dict[str, Any]:
    allow_private = settings.outbound_allow_private_networks
    return await service.update_tool(scope, tool, body.fields, allow_private=allow_private)


@router.delete("/agent-tools/{tool_uuid}", response_model=Deleted, responses=ERRORS)
async def delete_tool(scope: ScopeDep, tool: ToolDep) -> Deleted:
    await ownership.delete(scope, tool)
    return Deleted(uuid=tool.upstream_id)


# Agent webhooks


@router.get("/agent-webhooks", response_model=PageOf[WebhookRead], responses=ERRORS)
async def list_webhooks(scope: ScopeDep, paging: PagingDep) -> dict[str, Any]:
    return await ownership.list_page(
        scope, Kind.AGENT_WEBHOOK, page=paging.page, page_size=paging.page_size, parent_as=service.PARENT_FIELD
    )


@router.post("/agent-webhooks", response_model=Envelope[WebhookRead], responses=ERRORS)
async def create_webhook(scope: ScopeDep, body: WebhookCreate, settings: SettingsDep) -> dict[str, Any]:
    return await service.create_webhook(scope, body.fields, allow_private=settings.outbound_allow_private_networks)


@router.get("/agent-webhooks/{webhook_uuid}", response_model=Envelope[WebhookRead], responses=ERRORS)
async def get_webhook(scope: ScopeDep, webhook: WebhookDep) -> dict[str, Any]:
    return await service.fetch_child(scope, webhook)


@router.put("/agent-webhooks/{webhook_uuid}", response_model=Envelope[WebhookRead], responses=ERRORS)
async def update_webhook(
    scope: ScopeDep, webhook: WebhookDep, body: WebhookUpdate, settings: SettingsDep
) -> dict[str, Any]:
    allow_private = settings.outbound_allow_private_networks
    return await service.update_webhook(scope, webhook, body.fields, allow_private=allow_private)


@router.delete("/agent-webhooks/{webhook_uuid}", response_model=Deleted, responses=ERRORS)
async def delete_webhook(scope: ScopeDep, webhook: WebhookDep) -> Deleted:
    await ownership.delete(scope, webhook)
    return Deleted(uuid=webhook.upstream_id)


# Knowledge base (Resemble's /knowledge_items)


@router.get("/knowledge-base", response_model=PageOf[KnowledgeRead], responses=ERRORS)
async def list_knowledge(scope: ScopeDep, paging: PagingDep) -> dict[str, Any]:
    return await ownership.list_page(scope, Kind.KNOWLEDGE_ITEM, page=paging.page, page_size=paging.page_size)


@router.post("/knowledge-base", response_model=Envelope[KnowledgeRead], responses=ERRORS)
async def create_knowledge(scope: ScopeDep, body: KnowledgeCreate, settings: SettingsDep) -> dict[str, Any]:
    allow_private = settings.outbound_allow_private_networks
    return await service.create_knowledge_item(scope, body.fields, allow_private=allow_private)


@router.get("/knowledge-base/{item_uuid}", response_model=Envelope[KnowledgeRead], responses=ERRORS)
async def get_knowledge(scope: ScopeDep, item: KnowledgeDep) -> dict[str, Any]:
    return await ownership.fetch(scope, item)


@router.put("/knowledge-base/{item_uuid}", response_model=Envelope[KnowledgeRead], responses=ERRORS)
async def update_knowledge(item: KnowledgeDep, body: KnowledgeUpdate) -> dict[str, Any]:
    # Resemble has no edit for knowledge items (only create, read, delete and re-ingest).
    raise Unprocessable("Resemble cannot edit a knowledge item; delete it and create a new one")


@router.delete("/knowledge-base/{item_uuid}", response_model=Deleted, responses=ERRORS)
async def delete_knowledge(scope: ScopeDep, item: KnowledgeDep) -> Deleted:
    await ownership.delete(scope, item)
    return Deleted(uuid=item.upstream_id)
