"""Test hooks under `/_sim/` (no auth): the account's plan, the wallet's price skew (`/_sim/billing`), fault
injection, the request log, callback deliveries, run-time switches (`/_sim/voice-design/shape`), and the signed media
URLs (`/_sim/media/{token}`) that stand in for Resemble's temporary download links."""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any, cast

import anyio.to_thread
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from .errors import SimulatorError
from .params import FieldErrors
from .plans import PLANS, Plan
from .state import (
    DEFAULT_CALLBACK_REPEAT,
    DEFAULT_TIMEOUT_DELAY_MS,
    FAULT_MODES,
    VOICE_DESIGN_SHAPES,
    FaultMode,
    VoiceDesignShape,
    get_state,
)
from .wallet import MAX_SKEW_PCT

SIM_PREFIX = "/_sim"
router = APIRouter(prefix=SIM_PREFIX)
# Media renders larger than this run in a worker thread so the event loop stays responsive.
_INLINE_RENDER_BYTES = 400_000


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


@router.get("/plan")
async def get_plan(request: Request) -> dict[str, str]:
    return {"plan": get_state(request).plan}


@router.put("/plan")
async def set_plan(request: Request) -> dict[str, str]:
    """`{"plan": "flex" | "business"}`: on Flex, Business-only calls answer 403 from the next request on."""
    body = await _json_object(request)
    plan = body.get("plan")
    if plan not in PLANS:
        raise SimulatorError(400, "Validation failed", errors={"plan": [f"must be one of {', '.join(PLANS)}"]})
    get_state(request).set_plan(cast(Plan, plan))
    return {"plan": plan}


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        raise SimulatorError(400, "Request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise SimulatorError(400, "Request body must be a JSON object")
    return body


@router.get("/billing")
async def get_billing(request: Request) -> dict[str, Any]:
    """The wallet's state: `skew_pct`, `balance_cents`, `deductions` landed and `pending` (jobs not yet done)."""
    return get_state(request).jobs.wallet.state()


@router.post("/billing")
async def set_billing(request: Request) -> dict[str, Any]:
    """`{"skew_pct": N}`: every later usage deduction costs N % more (negative: less), -100 < N <= 1000."""
    body = await _json_object(request)
    raw = body.get("skew_pct")
    try:
        if isinstance(raw, bool) or not isinstance(raw, int | float | str):
            raise InvalidOperation
        skew = Decimal(str(raw))
    except InvalidOperation:
        skew = Decimal("NaN")
    if not skew.is_finite() or not -100 < skew <= MAX_SKEW_PCT:
        raise SimulatorError(
            400, "Validation failed", errors={"skew_pct": [f"must be a number above -100 and at most {MAX_SKEW_PCT}"]}
        )
    wallet = get_state(request).jobs.wallet
    wallet.set_skew(skew)
    return wallet.state()


@router.post("/faults", status_code=201)
async def add_fault(request: Request) -> JSONResponse:
    body = await _json_object(request)
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
    repeat = _int_field(body, "repeat", DEFAULT_CALLBACK_REPEAT, errors)
    if repeat < 1:
        errors.add("repeat", "must be at least 1")
    message = body.get("message")
    if message is not None and not isinstance(message, str):
        errors.add("message", "must be a string")
    errors.raise_if_any()

    fault = get_state(request).add_fault(
        path=cast(str, path),
        status=status,
        count=count,
        delay_ms=delay_ms,
        mode=cast(FaultMode, mode),
        repeat=repeat,
        message=message,
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
    """The request log; `?account=<index|key last4>` keeps one account's requests (0 is the first account)."""
    return get_state(request).requests(account=request.query_params.get("account"))


@router.delete("/requests")
async def clear_requests(request: Request) -> dict[str, bool]:
    get_state(request).clear_requests()
    return {"success": True}


@router.get("/callbacks")
async def list_callbacks(request: Request) -> list[dict[str, Any]]:
    """Every callback delivery attempt: `{url, job_uuid, attempt, status_code|null, error|null, sent_at}`."""
    return get_state(request).jobs.callbacks()


@router.delete("/callbacks")
async def clear_callbacks(request: Request) -> dict[str, bool]:
    get_state(request).jobs.clear_callbacks()
    return {"success": True}


@router.get("/voice-design/shape")
async def get_voice_design_shape(request: Request) -> dict[str, str]:
    return {"shape": get_state(request).voice_design_shape}


@router.put("/voice-design/shape")
async def set_voice_design_shape(request: Request) -> dict[str, str]:
    """`{"shape": "array" | "object"}`: the `POST /voice-design` reply shape from now on."""
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        raise SimulatorError(400, "Request body is not valid JSON") from None
    shape = body.get("shape") if isinstance(body, dict) else None
    if shape not in VOICE_DESIGN_SHAPES:
        raise SimulatorError(
            400, "Invalid request", errors={"shape": [f"must be one of {', '.join(VOICE_DESIGN_SHAPES)}"]}
        )
    get_state(request).set_voice_design_shape(cast(VoiceDesignShape, shape))
    return {"shape": shape}


@router.get("/media/{token}")
async def get_media(request: Request, token: str) -> Response:
    """A signed download URL: the token is the only credential."""
    stored = get_state(request).jobs.media(token)
    if stored is None:
        raise SimulatorError(404, "Media not found or expired")
    if stored.data is not None:
        content = stored.data
    else:
        assert stored.render is not None
        if stored.size_hint > _INLINE_RENDER_BYTES:
            content = await anyio.to_thread.run_sync(stored.render)
        else:
            content = stored.render()
    return Response(content=content, media_type=stored.content_type)
