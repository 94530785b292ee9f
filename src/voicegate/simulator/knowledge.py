"""Team-level knowledge items at `/api/v2/knowledge_items` (supplement section 3, "Knowledge base").

Create answers 201 with the item `pending`; it reads as `ready` once the job delay has passed (Resemble fetches
and chunks the source in the background). At most three items per team.
"""

from __future__ import annotations

import math
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from .accounts import account_of, new_uuid, now_iso
from .bodies import VALIDATION_STATUS, json_object, required_str, string_field
from .errors import SimulatorError
from .params import FieldErrors, int_query
from .state import get_state

router = APIRouter(prefix="/api/v2")

SOURCE_TYPES = ("url", "text", "document")
MAX_ITEMS_PER_TEAM = 3
MAX_RAW_TEXT_CHARS = 10_000


def _view(request: Request, stored: dict[str, Any]) -> dict[str, Any]:
    item = {key: value for key, value in stored.items() if not key.startswith("_")}
    if time.monotonic() - stored["_created"] >= get_state(request).settings.job_delay_s:
        item["status"], item["chunk_count"] = "ready", max(1, len(stored.get("_text", "")) // 500)
    return item


def _fields(body: dict[str, Any]) -> dict[str, Any]:
    errors = FieldErrors()
    title = required_str(body, "title", errors, max_length=50)
    description = required_str(body, "description", errors, max_length=200)
    source_type = body.get("source_type")
    if source_type not in SOURCE_TYPES:
        errors.add("source_type", f"must be one of {', '.join(SOURCE_TYPES)}")
    url = string_field(body, "url", errors, required=source_type == "url", max_length=2048)
    if url is not None and not url.startswith(("http://", "https://")):
        errors.add("url", "must be an http(s) URL")
    raw_text = string_field(body, "raw_text", errors, required=source_type == "text", max_length=MAX_RAW_TEXT_CHARS)
    if source_type == "document":
        errors.add("document", "must be uploaded as multipart form data")
    errors.raise_if_any(VALIDATION_STATUS)
    return {"title": title, "description": description, "source_type": source_type, "url": url, "raw_text": raw_text}


@router.get("/knowledge_items")
async def list_items(request: Request) -> dict[str, Any]:
    errors = FieldErrors()
    page = int_query(request.query_params, "page", errors, default=1, minimum=1)
    per_page = int_query(request.query_params, "per_page", errors, default=20, minimum=1, maximum=100)
    errors.raise_if_any()
    assert page is not None
    assert per_page is not None
    items = [_view(request, stored) for stored in account_of(request).knowledge_items.all()]
    status, source = request.query_params.get("status"), request.query_params.get("source_type")
    items = [i for i in items if (not status or i["status"] == status) and (not source or i["source_type"] == source)]
    start = (page - 1) * per_page
    return {
        "success": True,
        "items": items[start : start + per_page],
        "pagination": {
            "page": page,
            "per_page": per_page,
            "total_count": len(items),
            "total_pages": max(1, math.ceil(len(items) / per_page)),
        },
    }


@router.post("/knowledge_items")
async def create_item(request: Request) -> JSONResponse:
    fields = _fields(await json_object(request))
    items = account_of(request).knowledge_items
    if len(items) >= MAX_ITEMS_PER_TEAM:
        raise SimulatorError(
            VALIDATION_STATUS,
            f"A team can have at most {MAX_ITEMS_PER_TEAM} knowledge items",
            errors={"base": ["limit_reached"]},
        )
    stamp = now_iso()
    stored = {
        "uuid": new_uuid(),
        "title": fields["title"],
        "description": fields["description"],
        "source_type": fields["source_type"],
        "status": "pending",
        "error_message": None,
        "chunk_count": None,
        "url": fields["url"],
        "agent_count": 0,
        "created_at": stamp,
        "updated_at": stamp,
        "_created": time.monotonic(),
        "_text": fields["raw_text"] or fields["url"] or "",
    }
    items.add(stored["uuid"], stored)
    body = {"success": True, "item": _view(request, stored), "message": "Knowledge item created"}
    return JSONResponse(body, status_code=201)


def _stored(request: Request, item_uuid: str) -> dict[str, Any]:
    found = account_of(request).knowledge_items.get(item_uuid)
    if found is None:
        raise SimulatorError(404, f"Knowledge item {item_uuid} not found")
    return found


@router.get("/knowledge_items/{item_uuid}")
async def get_item(request: Request, item_uuid: str) -> dict[str, Any]:
    item = _view(request, _stored(request, item_uuid))
    item.pop("agent_count", None)
    return {"success": True, "item": {**item, "agents": []}}


@router.delete("/knowledge_items/{item_uuid}")
async def delete_item(request: Request, item_uuid: str) -> dict[str, Any]:
    _stored(request, item_uuid)
    account_of(request).knowledge_items.remove(item_uuid)
    return {"success": True, "message": "Knowledge item deleted"}
