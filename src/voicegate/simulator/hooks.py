"""Test hooks under `/_sim/` (no auth): fault injection and the request log."""

from __future__ import annotations

import json
import re
from typing import Any, cast

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from .errors import SimulatorError
from .params import FieldErrors
from .state import DEFAULT_TIMEOUT_DELAY_MS, FAULT_MODES, FaultMode, get_state

SIM_PREFIX = "/_sim"
router = APIRouter(prefix=SIM_PREFIX)


def _int_field(body: dict[str, Any], name: str, default: int, errors: FieldErrors) -> int:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        errors.add(name, "must be an integer")
        return default
    return value


@router.get("/health")
async def health() -> dict[str, bool]:
    return {"ok": True}


@router.post("/faults", status_code=201)
async def add_fault(request: Request) -> JSONResponse:
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        raise SimulatorError(400, "Request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise SimulatorError(400, "Request body must be a JSON object")

    errors = FieldErrors()
    path = body.get("path")
    if not isinstance(path, str):
        errors.add("path", "is required (a regular expression searched in the request path)")
    else:
        try:
            re.compile(path)
        except re.error as exc:
            errors.add("path", f"is not a valid regular expression: {exc}")
    mode = body.get("mode") or "status"
    if mode not in FAULT_MODES:
        errors.add("mode", f"must be one of {', '.join(FAULT_MODES)}")
    status = _int_field(body, "status", 500, errors)
    if not 100 <= status <= 599:
        errors.add("status", "must be between 100 and 599")
    count = _int_field(body, "count", 1, errors)
    if count == 0 or count < -1:
        errors.add("count", "must be positive, or -1 for forever")
    default_delay = DEFAULT_TIMEOUT_DELAY_MS if mode == "timeout" else 0
    delay_ms = _int_field(body, "delay_ms", default_delay, errors)
    if delay_ms < 0:
        errors.add("delay_ms", "must not be negative")
    errors.raise_if_any()

    fault = get_state(request).add_fault(
        path=cast(str, path), status=status, count=count, delay_ms=delay_ms, mode=cast(FaultMode, mode)
    )
    return JSONResponse(fault.to_json(), status_code=201)


@router.get("/faults")
async def list_faults(request: Request) -> list[dict[str, Any]]:
    return [fault.to_json() for fault in get_state(request).faults()]


@router.delete("/faults")
async def clear_faults(request: Request) -> dict[str, bool]:
    get_state(request).clear_faults()
    return {"success": True}


@router.get("/requests")
async def list_requests(request: Request) -> list[dict[str, Any]]:
    return get_state(request).requests()


@router.delete("/requests")
async def clear_requests(request: Request) -> dict[str, bool]:
    get_state(request).clear_requests()
    return {"success": True}
