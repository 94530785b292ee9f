"""ASGI middleware in front of every Resemble route: request log, injected faults, API-key auth, then the plan.

`/_sim/` hook routes bypass all four. Faults are applied before auth, like a network or upstream failure; the
plan after it, as Resemble authenticates a call before it refuses a Business-only feature with 403.
"""

from __future__ import annotations

import contextlib
import json
import math
import socket
import struct
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import anyio
import httpx
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .accounts import current_account
from .auth import INVALID_TOKEN_MESSAGE, extract_key, key_is_valid, key_label, redact_header
from .errors import error_response
from .hooks import SIM_PREFIX
from .plans import BUSINESS_PLAN_MESSAGE, allows
from .state import Fault, SimulatorState

MALFORMED_BODY = b"<html>oops"
_RESET_WAIT_S = 1.0


class SimulatedConnectionReset(httpx.RemoteProtocolError, ConnectionResetError):
    """Raised by `reset` faults when the server's socket cannot be reached (in-process ASGI transports).

    `httpx.ASGITransport` re-raises app exceptions in the client, so this surfaces to an httpx caller
    exactly like a dropped connection would (an `httpx.TransportError`, and an `OSError` for everyone else).
    """


class SimulatorMiddleware:
    def __init__(self, app: ASGIApp, state: SimulatorState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and not allows(self.state.plan, "WEBSOCKET", scope["path"]):
            await _refuse_handshake(receive, send)
            return
        if scope["type"] != "http" or _is_hook_path(scope["path"]):
            await self.app(scope, receive, send)
            return

        body = await _read_body(receive)
        if body is None:  # client went away mid-upload
            return
        entry = _log_entry(scope, body)
        key = extract_key(Headers(scope=scope))
        if key:
            entry["account"], entry["account_last4"] = self.state.account_index(key), key_label(key)
        self.state.record_request(entry)
        send = self._recording_status(entry, send)
        replay = _replaying(body, receive)

        fault = self.state.take_fault(scope["path"])
        if fault is not None and await self._apply_fault(fault, scope, receive, replay, send):
            return

        if not key_is_valid(key, self.state.accepted_keys):
            await error_response(401, INVALID_TOKEN_MESSAGE)(scope, replay, send)
            return
        if not allows(self.state.plan, scope["method"], scope["path"]):
            await error_response(403, BUSINESS_PLAN_MESSAGE)(scope, replay, send)
            return
        token = current_account.set(key)  # the wallet charged, and the objects seen, are this account's
        try:
            await self.app(scope, replay, send)
        finally:
            current_account.reset(token)

    def _recording_status(self, entry: dict[str, Any], send: Send) -> Send:
        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.state.set_response_status(entry, int(message["status"]))
            await send(message)

        return recording_send

    async def _apply_fault(self, fault: Fault, scope: Scope, receive: Receive, replay: Receive, send: Send) -> bool:
        """Run one injected fault; False means "now answer the request normally" (timeout mode)."""
        if await _sleep_unless_disconnected(fault.delay_ms / 1000, receive):
            return True
        if fault.mode == "timeout":
            return False
        if fault.mode == "reset":
            await _reset_connection(receive)
        elif fault.mode == "malformed":
            await send({"type": "http.response.start", "status": 200, "headers": _json_headers(MALFORMED_BODY)})
            await send({"type": "http.response.body", "body": MALFORMED_BODY})
        else:
            headers = {"Retry-After": "1"} if fault.status == 429 else None
            message = f"Simulated fault {fault.id}"
            await error_response(fault.status, message, headers=headers)(scope, replay, send)
        return True


async def _refuse_handshake(receive: Receive, send: Send) -> None:
    """Close before accepting: the server answers the upgrade request with HTTP 403."""
    if (await receive())["type"] == "websocket.connect":
        await send({"type": "websocket.close", "code": 1008, "reason": "Business plan required"})


def _is_hook_path(path: str) -> bool:
    return path == SIM_PREFIX or path.startswith(SIM_PREFIX + "/")


def _json_headers(body: bytes) -> list[tuple[bytes, bytes]]:
    return [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _log_entry(scope: Scope, body: bytes) -> dict[str, Any]:
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope["headers"]:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        value = redact_header(name, value)
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    parsed: Any = None
    if body:
        with contextlib.suppress(ValueError):
            parsed = json.loads(body)
    query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
    return {
        "method": scope["method"],
        "path": scope["path"],
        "query": query,
        "headers": headers,
        "json": parsed,
        "received_at": datetime.now(UTC).isoformat(),
        "status": None,
        "account": None,
        "account_last4": None,
    }


async def _sleep_unless_disconnected(seconds: float, receive: Receive) -> bool:
    """Sleep, but stop early (returning True) if the client disconnects; the body has already been read."""
    if seconds <= 0:
        return False
    with anyio.move_on_after(seconds):
        message = await receive()
        if message["type"] == "http.disconnect":
            return True
        await anyio.sleep(math.inf)  # a server that does not block here: just wait out the delay
    return False


async def _reset_connection(receive: Receive) -> None:
    """Drop the connection without a response.

    Under uvicorn, `receive` is a bound method of the request cycle, which holds the asyncio transport: the
    socket is closed with SO_LINGER=0 so the client gets a TCP RST and no bytes at all. Anywhere else
    (e.g. `httpx.ASGITransport`) there is no socket, so an exception is raised into the client instead.
    """
    transport = getattr(getattr(receive, "__self__", None), "transport", None)
    if transport is None or not callable(getattr(transport, "abort", None)):
        raise SimulatedConnectionReset("Simulated connection reset")
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError, AttributeError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    with anyio.move_on_after(_RESET_WAIT_S):
        while (await receive())["type"] != "http.disconnect":
            pass
