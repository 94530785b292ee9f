"""Voice agents with their tools and webhooks on the app API (supplement section 3).

- `/api/v2/agents`: list `{success, items, count}` (the whole account, not paginated), create, GET / PATCH / DELETE
  one (deleting an agent deletes its tools and webhooks); the item is nested (`agent{uuid, name, ...}`, `asr`,
  `tts`, `turn`, `llm`, ...).
- `/api/v2/agents/capabilities` and `/api/v2/agents/system-tools`: account-level catalogues.
- `/api/v2/agents/{agent_uuid}/tools[/{id}]` and `/webhooks[/{id}]`: the five verbs each.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from .accounts import Account, account_of, new_uuid, now_iso
from .bodies import VALIDATION_STATUS, bool_field, json_object, string_field
from .errors import SimulatorError
from .params import FieldErrors
from .state import get_state

router = APIRouter(prefix="/api/v2")

TOOL_TYPES = ("webhook", "client")
WEBHOOK_TYPES = ("pre_call", "post_call")
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
NESTED = ("asr", "turn", "llm", "system_tools", "dynamic_variables")

CAPABILITIES = {
    "success": True,
    "asr_capabilities": [
        {"provider": "deepgram", "model": "nova-2", "description": "Fast general-purpose recognition"},
        {"provider": "deepgram", "model": "nova-3", "description": "Most accurate recognition"},
    ],
    "llm_capabilities": [
        {"provider": "openai", "model": "gpt-4o-mini", "description": "Low latency"},
        {"provider": "anthropic", "model": "claude-3-5-haiku", "description": "Low latency"},
    ],
}
SYSTEM_TOOLS = {
    "success": True,
    "items": [
        {
            "identifier": name,
            "description": description,
            "default_config": {
                "parameters": {},
                "assignments": [],
                "disable_interruptions": False,
                "force_pre_tool_speech": False,
            },
            "default_active": name == "end_call",
        }
        for name, description in (
            ("end_call", "Ends the call when the conversation is over"),
            ("transfer_to_number", "Transfers the caller to a phone number"),
            ("voicemail_detection", "Hangs up when a voicemail answers"),
        )
    ],
}


def _agent_view(account: Account, stored: dict[str, Any]) -> dict[str, Any]:
    agent_uuid = stored["agent"]["uuid"]
    return {
        **stored,
        "tools_count": len(account.tools(agent_uuid)),
        "webhooks_count": len(account.webhooks(agent_uuid)),
    }


def _agent_fields(request: Request, body: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    errors = FieldErrors()
    name = string_field(body, "name", errors, required=creating, max_length=255)
    if isinstance(name, str) and not name.strip():
        errors.add("name", "can't be blank")
    voice_uuid = string_field(body, "voice_uuid", errors, required=creating, max_length=64)
    if voice_uuid and get_state(request).voice(voice_uuid) is None:
        errors.add("voice_uuid", "was not found")
    asr = body.get("asr")
    if asr is not None and (not isinstance(asr, dict) or not asr.get("model")):
        errors.add("asr.model", "can't be blank")
    for key in NESTED:
        if body.get(key) is not None and not isinstance(body[key], dict):
            errors.add(key, "must be an object")
    languages = body.get("languages")
    if languages is not None and (not isinstance(languages, list) or not all(isinstance(x, str) for x in languages)):
        errors.add("languages", "must be a list of language codes")
    errors.raise_if_any(VALIDATION_STATUS)
    return {
        "name": name,
        "voice_uuid": voice_uuid,
        **{k: v for k, v in body.items() if k not in ("name", "voice_uuid")},
    }


def _new_agent(request: Request, fields: dict[str, Any]) -> dict[str, Any]:
    stamp = now_iso()
    voice = get_state(request).voice(fields["voice_uuid"]) or {}
    return {
        "agent": {
            "uuid": new_uuid(),
            "name": fields["name"],
            "languages": fields.get("languages") or ["en-US"],
            "dynamic_variables": fields.get("dynamic_variables") or {},
            "created_at": stamp,
            "updated_at": stamp,
            "last_active_at": None,
            "calls_today": 0,
            "status": "active",
        },
        "asr": {
            "provider": "deepgram",
            "model": "nova-2",
            "user_input_audio_format": "pcm_16000",
            "keywords": [],
            **(fields.get("asr") or {}),
        },
        "tts": {"voice_uuid": fields["voice_uuid"], "voice_name": voice.get("name")},
        "turn": {"turn_timeout": 7, "silence_end_call_timeout": -1, "mode": "silence", **(fields.get("turn") or {})},
        "llm": {
            "prompt": "",
            "provider": "openai",
            "model": "gpt-4o-mini",
            "temperature": 0.3,
            **(fields.get("llm") or {}),
        },
        "search_mode": fields.get("search_mode") or "speed",
        "max_chunks_per_query": fields.get("max_chunks_per_query") or 8,
        "system_tools": fields.get("system_tools") or {},
        "phone_numbers": [],
    }


def _stored_agent(request: Request, agent_uuid: str) -> dict[str, Any]:
    found = account_of(request).agents.get(agent_uuid)
    if found is None:
        raise SimulatorError(404, f"Agent {agent_uuid} not found")
    return found


@router.get("/agents/capabilities")
async def capabilities() -> dict[str, Any]:
    return CAPABILITIES


@router.get("/agents/system-tools")
async def system_tools() -> dict[str, Any]:
    return SYSTEM_TOOLS


@router.get("/agents")
async def list_agents(request: Request) -> dict[str, Any]:
    account = account_of(request)
    items = [_agent_view(account, stored) for stored in account.agents.all()]
    return {"success": True, "items": items, "count": len(items)}


@router.post("/agents")
async def create_agent(request: Request) -> dict[str, Any]:
    body = await json_object(request)
    fields = _agent_fields(request, body, creating=True)
    account = account_of(request)
    stored = _new_agent(request, fields)
    agent_uuid = stored["agent"]["uuid"]
    account.agents.add(agent_uuid, stored)
    for hook in fields.get("webhooks") or []:
        if isinstance(hook, dict):
            _add_webhook(account, agent_uuid, _webhook_fields(hook, creating=True, account=account, agent=agent_uuid))
    return {"success": True, "item": _agent_view(account, stored), "message": "Agent created successfully"}


@router.get("/agents/{agent_uuid}")
async def get_agent(request: Request, agent_uuid: str) -> dict[str, Any]:
    return {"success": True, "item": _agent_view(account_of(request), _stored_agent(request, agent_uuid))}


@router.patch("/agents/{agent_uuid}")
async def update_agent(request: Request, agent_uuid: str) -> dict[str, Any]:
    stored = _stored_agent(request, agent_uuid)
    fields = _agent_fields(request, await json_object(request), creating=False)
    if fields.get("name") is not None:
        stored["agent"]["name"] = fields["name"]
    for key in ("languages", "dynamic_variables"):
        if fields.get(key) is not None:
            stored["agent"][key] = fields[key]
    if fields.get("voice_uuid"):
        voice = get_state(request).voice(fields["voice_uuid"]) or {}
        stored["tts"] = {"voice_uuid": fields["voice_uuid"], "voice_name": voice.get("name")}
    for key in ("asr", "turn", "llm", "system_tools"):  # nested objects are merged, as Resemble does
        if isinstance(fields.get(key), dict):
            stored[key] = {**stored.get(key, {}), **fields[key]}
    for key in ("search_mode", "max_chunks_per_query"):
        if fields.get(key) is not None:
            stored[key] = fields[key]
    stored["agent"]["updated_at"] = now_iso()
    account = account_of(request)
    account.agents.add(agent_uuid, stored)
    return {"success": True, "item": _agent_view(account, stored), "message": "Agent updated successfully"}


@router.delete("/agents/{agent_uuid}")
async def delete_agent(request: Request, agent_uuid: str) -> dict[str, Any]:
    account = account_of(request)
    if account.agents.remove(agent_uuid) is None:
        raise SimulatorError(404, f"Agent {agent_uuid} not found")
    account.drop_agent(agent_uuid)
    return {"success": True, "message": "Agent deleted successfully"}


def _api_schema_errors(config: object, prefix: str, errors: FieldErrors) -> None:
    schema = config.get("api_schema") if isinstance(config, dict) else None
    if not isinstance(schema, dict):
        errors.add(f"{prefix}.api_schema", "can't be blank")
        return
    url = schema.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        errors.add(f"{prefix}.api_schema.url", "must be an http(s) URL")
    if schema.get("method", "POST") not in HTTP_METHODS:
        errors.add(f"{prefix}.api_schema.method", f"must be one of {', '.join(HTTP_METHODS)}")


def _tool_fields(body: dict[str, Any], *, creating: bool, names: set[str]) -> dict[str, Any]:
    errors = FieldErrors()
    name = string_field(body, "name", errors, required=creating, max_length=64)
    if name is not None and name in names:
        errors.add("name", "has already been taken")
    description = string_field(body, "description", errors, required=creating, max_length=1000)
    tool_type = body.get("tool_type")
    if creating and tool_type not in TOOL_TYPES:
        errors.add("tool_type", "must be webhook or client (system tools cannot be created)")
    config = body.get("tool_config")
    if creating and not isinstance(config, dict):
        errors.add("tool_config", "can't be blank")
    elif tool_type == "webhook" and isinstance(config, dict):
        _api_schema_errors(config, "tool_config", errors)
    active = bool_field(body, "active", errors, required=False)
    errors.raise_if_any(VALIDATION_STATUS)
    fields = {"name": name, "description": description, "tool_type": tool_type, "tool_config": config, "active": active}
    return {key: value for key, value in fields.items() if value is not None}


@router.get("/agents/{agent_uuid}/tools")
async def list_tools(request: Request, agent_uuid: str) -> dict[str, Any]:
    _stored_agent(request, agent_uuid)
    items = account_of(request).tools(agent_uuid).all()
    return {"success": True, "items": items, "count": len(items)}


@router.post("/agents/{agent_uuid}/tools")
async def create_tool(request: Request, agent_uuid: str) -> dict[str, Any]:
    _stored_agent(request, agent_uuid)
    tools = account_of(request).tools(agent_uuid)
    fields = _tool_fields(await json_object(request), creating=True, names={t["name"] for t in tools.all()})
    stamp = now_iso()
    item = {
        "id": new_uuid(),
        "active": True,
        **fields,
        "access_info": {},
        "usage_stats": {},
        "created_at": stamp,
        "updated_at": stamp,
    }
    return {"success": True, "item": tools.add(item["id"], item)}


def _tool(request: Request, agent_uuid: str, tool_id: str) -> dict[str, Any]:
    _stored_agent(request, agent_uuid)
    found = account_of(request).tools(agent_uuid).get(tool_id)
    if found is None:
        raise SimulatorError(404, f"Tool {tool_id} not found")
    return found


@router.get("/agents/{agent_uuid}/tools/{tool_id}")
async def get_tool(request: Request, agent_uuid: str, tool_id: str) -> dict[str, Any]:
    return {"success": True, "item": _tool(request, agent_uuid, tool_id)}


@router.patch("/agents/{agent_uuid}/tools/{tool_id}")
async def update_tool(request: Request, agent_uuid: str, tool_id: str) -> dict[str, Any]:
    current = _tool(request, agent_uuid, tool_id)
    body = await json_object(request)
    tools = account_of(request).tools(agent_uuid)
    names = {t["name"] for t in tools.all() if t["id"] != tool_id}
    fields = _tool_fields({**body, "tool_type": current["tool_type"]}, creating=False, names=names)
    fields.pop("tool_type", None)
    return {"success": True, "item": tools.update(tool_id, {**fields, "updated_at": now_iso()})}


@router.delete("/agents/{agent_uuid}/tools/{tool_id}")
async def delete_tool(request: Request, agent_uuid: str, tool_id: str) -> dict[str, Any]:
    _tool(request, agent_uuid, tool_id)
    account_of(request).tools(agent_uuid).remove(tool_id)
    return {"success": True, "message": "Tool deleted successfully"}


def _webhook_fields(body: dict[str, Any], *, creating: bool, account: Account, agent: str) -> dict[str, Any]:
    errors = FieldErrors()
    webhook_type = body.get("webhook_type")
    if creating or webhook_type is not None:
        if webhook_type not in WEBHOOK_TYPES:
            errors.add("webhook_type", f"must be one of {', '.join(WEBHOOK_TYPES)}")
        elif creating and any(h["webhook_type"] == webhook_type for h in account.webhooks(agent).all()):
            errors.add("webhook_type", f"an agent has at most one {webhook_type} webhook")
    config = body.get("webhook_config")
    if creating or config is not None:
        _api_schema_errors(config, "webhook_config", errors)
    errors.raise_if_any(VALIDATION_STATUS)
    fields = {"webhook_type": webhook_type, "webhook_config": config}
    return {key: value for key, value in fields.items() if value is not None}


def _add_webhook(account: Account, agent_uuid: str, fields: dict[str, Any]) -> dict[str, Any]:
    stamp = now_iso()
    item = {"id": new_uuid(), **fields, "created_at": stamp, "updated_at": stamp}
    return account.webhooks(agent_uuid).add(item["id"], item)


@router.get("/agents/{agent_uuid}/webhooks")
async def list_webhooks(request: Request, agent_uuid: str) -> dict[str, Any]:
    _stored_agent(request, agent_uuid)
    items = account_of(request).webhooks(agent_uuid).all()
    return {"success": True, "items": items, "count": len(items)}


@router.post("/agents/{agent_uuid}/webhooks")
async def create_webhook(request: Request, agent_uuid: str) -> dict[str, Any]:
    _stored_agent(request, agent_uuid)
    account = account_of(request)
    fields = _webhook_fields(await json_object(request), creating=True, account=account, agent=agent_uuid)
    return {"success": True, "item": _add_webhook(account, agent_uuid, fields)}


def _webhook(request: Request, agent_uuid: str, webhook_id: str) -> dict[str, Any]:
    _stored_agent(request, agent_uuid)
    found = account_of(request).webhooks(agent_uuid).get(webhook_id)
    if found is None:
        raise SimulatorError(404, f"Webhook {webhook_id} not found")
    return found


@router.get("/agents/{agent_uuid}/webhooks/{webhook_id}")
async def get_webhook(request: Request, agent_uuid: str, webhook_id: str) -> dict[str, Any]:
    return {"success": True, "item": _webhook(request, agent_uuid, webhook_id)}


@router.patch("/agents/{agent_uuid}/webhooks/{webhook_id}")
async def update_webhook(request: Request, agent_uuid: str, webhook_id: str) -> dict[str, Any]:
    _webhook(request, agent_uuid, webhook_id)
    account = account_of(request)
    fields = _webhook_fields(await json_object(request), creating=False, account=account, agent=agent_uuid)
    return {
        "success": True,
        "item": account.webhooks(agent_uuid).update(webhook_id, {**fields, "updated_at": now_iso()}),
    }


@router.delete("/agents/{agent_uuid}/webhooks/{webhook_id}")
async def delete_webhook(request: Request, agent_uuid: str, webhook_id: str) -> dict[str, Any]:
    _webhook(request, agent_uuid, webhook_id)
    account_of(request).webhooks(agent_uuid).remove(webhook_id)
    return {"success": True, "message": "Webhook deleted successfully"}
