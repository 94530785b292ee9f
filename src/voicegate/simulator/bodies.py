"""Field checks shared by the simulator's JSON CRUD routes (projects, clips, agents, knowledge items)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from fastapi import Request

from .errors import SimulatorError
from .params import FieldErrors, int_query

VALIDATION_STATUS = 422


async def json_object(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        raise SimulatorError(400, "Request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise SimulatorError(400, "Request body must be a JSON object")
    return body


def required_str(body: Mapping[str, Any], name: str, errors: FieldErrors, *, max_length: int | None = None) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        errors.add(name, "can't be blank" if value in (None, "") or isinstance(value, str) else "must be a string")
        return ""
    if max_length is not None and len(value) > max_length:
        errors.add(name, f"is too long (maximum is {max_length} characters)")
    return value


def string_field(
    body: Mapping[str, Any], name: str, errors: FieldErrors, *, required: bool, max_length: int | None = None
) -> str | None:
    """A string that may be empty; `required` means the key must be present (Resemble's project fields)."""
    if name not in body or body[name] is None:
        if required:
            errors.add(name, "is required")
        return None
    value = body[name]
    if not isinstance(value, str):
        errors.add(name, "must be a string")
        return None
    if max_length is not None and len(value) > max_length:
        errors.add(name, f"is too long (maximum is {max_length} characters)")
    return value


def bool_field(body: Mapping[str, Any], name: str, errors: FieldErrors, *, required: bool) -> bool | None:
    if name not in body or body[name] is None:
        if required:
            errors.add(name, "is required")
        return None
    if not isinstance(body[name], bool):
        errors.add(name, "must be a boolean")
        return None
    return bool(body[name])


def paged(request: Request, items: list[dict[str, Any]]) -> dict[str, Any]:
    """`{success, page, total_results, page_count, items}`: the list shape Resemble's projects and clips use."""
    errors = FieldErrors()
    page = int_query(request.query_params, "page", errors, default=1, minimum=1)
    page_size = int_query(request.query_params, "page_size", errors, default=10, minimum=10, maximum=1000)
    errors.raise_if_any()
    assert page is not None
    assert page_size is not None
    start = (page - 1) * page_size
    return {
        "success": True,
        "page": page,
        "total_results": len(items),
        "page_count": max(1, math.ceil(len(items) / page_size)),
        "items": items[start : start + page_size],
    }
