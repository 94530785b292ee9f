"""Counts every answered request by method, route template and status (`voicegate_http_requests_total`).

The route label is the template the router matched (`/api/v1/resemble/jobs/{job_id}`), read from the ASGI scope
after routing, never the raw path: ids in paths would give every job its own series. A request no route matched
(a 404 for an unknown path, a scanner's probe) is counted under "unmatched". A pure ASGI middleware, outside
Starlette's error middleware, so an unhandled error is counted as the 500 it is answered with.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voicegate import metrics
from voicegate.kit import capability

UNMATCHED = "unmatched"


def route_template(scope: Scope) -> str:
    """The full template of the route that answered: `/api/v1/admin/users/{user_id}`.

    The matched route knows its template only below the routers that include it (`/admin/users/{user_id}`), so
    the prefix those routers added is read off the request path: the part before the route's own rendered path.
    Prefixes hold no parameters here, so that part is a literal. When the path does not end as expected, the
    route's own template is still a bounded label."""
    template = getattr(scope.get("route"), "path_format", None)
    if not isinstance(template, str):
        return UNMATCHED
    try:
        rendered = template.format(**{name: str(v) for name, v in scope.get("path_params", {}).items()})
    except (KeyError, IndexError, ValueError):
        return template
    path: str = scope.get("path", "")
    return path[: len(path) - len(rendered)] + template if path.endswith(rendered) else template


class HttpMetricsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # what the caller gets if the app fails before answering

        async def send_counted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        token = capability.enter()
        try:
            await self.app(scope, receive, send_counted)
        finally:
            capability.leave(token)
            metrics.http_requests.labels(scope["method"], route_template(scope), str(status)).inc()
