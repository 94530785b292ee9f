"""The request id: taken from the caller or made up, bound on every log line of the request, and answered back.

A pure ASGI middleware rather than Starlette's `BaseHTTPMiddleware`, which runs the endpoint in another task: the
context bound there would not reach every line. The app puts it outside Starlette's `ServerErrorMiddleware`, so
a 500 and its `unhandled_error` line carry the id as well. A caller's `X-Request-Id` is kept only when it is short
and of a safe alphabet (it is echoed in a header and written to logs); otherwise a fresh id replaces it.
"""

from __future__ import annotations

import re

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voicegate.kit.ids import new_id

HEADER = b"x-request-id"
_ACCEPTED = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def request_id_from(scope: Scope) -> str:
    """The caller's id when it is acceptable, else a new one."""
    for name, value in scope.get("headers", ()):
        if name.lower() == HEADER:
            candidate = value.decode("latin-1")
            return candidate if _ACCEPTED.fullmatch(candidate) else new_id()
    return new_id()


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope)
        answered = (HEADER, request_id.encode("ascii"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != HEADER]
                message = {**message, "headers": [*headers, answered]}
            await send(message)

        # Each request starts from a clean context and gives back the one it found: the in-process simulator
        # calls the gateway from inside a gateway request, in the same task, and both must keep their own ids.
        enclosing = structlog.contextvars.get_contextvars()
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            structlog.contextvars.clear_contextvars()
            structlog.contextvars.bind_contextvars(**enclosing)


def current_request_id() -> str | None:
    """The id of the request being served (None outside one, e.g. on the command line)."""
    value = structlog.contextvars.get_contextvars().get("request_id")
    return value if isinstance(value, str) else None
