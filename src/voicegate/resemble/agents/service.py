"""The agents family on the ownership layer. Every URL Resemble will call or fetch on the caller's behalf (tool
and webhook endpoints, knowledge-base sources) passes the SSRF guard first: the shared account would otherwise
reach private or loopback targets for anyone."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from voicegate.errors import NotFound, Unprocessable
from voicegate.kit.netguard import UnsafeUrl, check_public_url
from voicegate.resemble.agents.schemas import (
    AgentUpdateFields,
    KnowledgeFields,
    ToolFields,
    ToolUpdateFields,
    WebhookFields,
    WebhookUpdateFields,
)
from voicegate.resemble.ownership import repository
from voicegate.resemble.ownership import service as ownership
from voicegate.resemble.ownership.calls import CallName, Scope, call
from voicegate.resemble.ownership.kinds import Kind
from voicegate.resemble.ownership.repository import OwnedResource
from voicegate.resemble.voices import access
from voicegate.resemble.voices.catalogue import VoiceCatalogue

PARENT_FIELD = "agent_uuid"


async def check_urls(urls: Iterator[tuple[str, str]], *, allow_private: bool) -> None:
    """Refuse every unsafe `(field, url)` at once, in one 422 that names each field."""
    problems = []
    for field, url in urls:
        try:
            await check_public_url(url, allow_private=allow_private, field=field)
        except UnsafeUrl as exc:
            problems.append(str(exc.detail))
    if problems:
        raise Unprocessable("; ".join(problems))


def _api_schema_url(config: Any, field: str) -> Iterator[tuple[str, str]]:
    schema = config.get("api_schema") if isinstance(config, dict) else None
    url = schema.get("url") if isinstance(schema, dict) else None
    if isinstance(url, str):
        yield f"{field}.api_schema.url", url
    elif schema is not None:
        raise Unprocessable(f"{field}.api_schema.url must be a URL")


def _agent_urls(fields: AgentUpdateFields) -> Iterator[tuple[str, str]]:
    for index, hook in enumerate(fields.webhooks or []):
        yield f"fields.webhooks.{index}.webhook_config.api_schema.url", hook.webhook_config.api_schema.url


async def create_agent(
    scope: Scope, fields: AgentUpdateFields, *, voices: VoiceCatalogue, allow_private: bool
) -> dict[str, Any]:
    await check_urls(_agent_urls(fields), allow_private=allow_private)
    await _check_voice(scope, fields, voices)
    return await ownership.create(scope, Kind.AGENT, fields.model_dump(exclude_none=True))


async def update_agent(
    scope: Scope, agent: OwnedResource, fields: AgentUpdateFields, *, voices: VoiceCatalogue, allow_private: bool
) -> dict[str, Any]:
    await check_urls(_agent_urls(fields), allow_private=allow_private)
    await _check_voice(scope, fields, voices)
    return await ownership.update(scope, agent, fields.model_dump(exclude_none=True))


async def _check_voice(scope: Scope, fields: AgentUpdateFields, voices: VoiceCatalogue) -> None:
    """An agent speaks with its voice, so it may name only one the caller may use."""
    if fields.voice_uuid is not None:
        await access.ensure_usable(scope.session, voices, scope.user_id, fields.voice_uuid)


async def _caller_agent(scope: Scope, agent_uuid: str) -> OwnedResource:
    """The parent named inside `fields`: someone else's agent is the same 404 as an unknown one."""
    agent = await repository.find(scope.session, Kind.AGENT, agent_uuid, scope.user_id)
    if scope.session.in_transaction():
        await scope.session.commit()
    if agent is None:
        raise NotFound("Agent not found")
    return agent


async def create_tool(scope: Scope, fields: ToolFields, *, allow_private: bool) -> dict[str, Any]:
    agent = await _caller_agent(scope, fields.agent_uuid)
    payload = fields.model_dump(exclude_none=True, exclude={"agent_uuid"})
    await check_urls(_api_schema_url(payload["tool_config"], "fields.tool_config"), allow_private=allow_private)
    return with_parent(await ownership.create(scope, Kind.AGENT_TOOL, payload, parent=agent), agent)


async def update_tool(
    scope: Scope, tool: OwnedResource, fields: ToolUpdateFields, *, allow_private: bool
) -> dict[str, Any]:
    payload = fields.model_dump(exclude_none=True)
    await check_urls(_api_schema_url(payload.get("tool_config"), "fields.tool_config"), allow_private=allow_private)
    return with_parent(await ownership.update(scope, tool, payload), tool.parent)


async def create_webhook(scope: Scope, fields: WebhookFields, *, allow_private: bool) -> dict[str, Any]:
    agent = await _caller_agent(scope, fields.agent_uuid)
    url = fields.webhook_config.api_schema.url
    await check_urls(iter([("fields.webhook_config.api_schema.url", url)]), allow_private=allow_private)
    payload = fields.model_dump(exclude_none=True, exclude={"agent_uuid"})
    return with_parent(await ownership.create(scope, Kind.AGENT_WEBHOOK, payload, parent=agent), agent)


async def update_webhook(
    scope: Scope, webhook: OwnedResource, fields: WebhookUpdateFields, *, allow_private: bool
) -> dict[str, Any]:
    if fields.webhook_config is not None:
        url = fields.webhook_config.api_schema.url
        await check_urls(iter([("fields.webhook_config.api_schema.url", url)]), allow_private=allow_private)
    payload = fields.model_dump(exclude_none=True)
    return with_parent(await ownership.update(scope, webhook, payload), webhook.parent)


async def create_knowledge_item(scope: Scope, fields: KnowledgeFields, *, allow_private: bool) -> dict[str, Any]:
    if fields.url is not None:
        await check_urls(iter([("fields.url", fields.url)]), allow_private=allow_private)
    return await ownership.create(scope, Kind.KNOWLEDGE_ITEM, fields.model_dump(exclude_none=True))


async def fetch_child(scope: Scope, child: OwnedResource) -> dict[str, Any]:
    return with_parent(await ownership.fetch(scope, child), child.parent)


async def catalogue(scope: Scope, path: str) -> dict[str, Any]:
    """An account-level catalogue (capabilities, system tools): the same for every user, passed through."""
    operation = "get_" + path.rsplit("/", 1)[-1].replace("-", "_")
    return await call(scope, "GET", path, CallName("agents", operation))


def with_parent(body: dict[str, Any], parent: OwnedResource | None) -> dict[str, Any]:
    """Name the agent a tool or webhook belongs to: the hub's routes are flat, so the item must say it."""
    item = ownership.item_of(body)
    return {**body, "item": {**item, PARENT_FIELD: parent.upstream_id if parent else None}}
