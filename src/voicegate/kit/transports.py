"""An httpx transport that sends requests for some origins to other transports (e.g. an in-process ASGI app)."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from voicegate.kit.tls import verified_context


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return (url.scheme, url.host, url.port)


class RoutingTransport(httpx.AsyncBaseTransport):
    def __init__(
        self, routes: Mapping[str, httpx.AsyncBaseTransport], default: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._routes = {_origin(httpx.URL(base)): transport for base, transport in routes.items()}
        self._default = default or httpx.AsyncHTTPTransport(verify=verified_context())

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        transport = self._routes.get(_origin(request.url), self._default)
        return await transport.handle_async_request(request)

    async def aclose(self) -> None:
        for transport in {*self._routes.values(), self._default}:
            await transport.aclose()
