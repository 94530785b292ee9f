"""The flat dispatch picks, for every request, exactly the operation FastAPI's router tree would pick."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from voicegate.kit.dispatch import FlatDispatch

HTTP_METHODS = ("get", "post", "put", "patch", "delete")


class Chosen:
    """Records, per request, the route the app's router settled on and the path parameters it read."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.last: tuple[str | None, dict[str, Any]] = (None, {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            route = scope.get("route")
            self.last = (getattr(route, "path_format", None), dict(scope.get("path_params", {})))


def requests_for(app: FastAPI) -> list[tuple[str, str]]:
    """Every operation of the schema with its parameters filled in, each method tried on each path (405s too),
    the trailing-slash variant, and paths no route has."""
    paths = [re.sub(r"\{[^}]+\}", "abc123", path) for path in app.openapi()["paths"]]
    wanted = [(method.upper(), path) for path in paths for method in HTTP_METHODS]
    wanted += [("GET", path + "/") for path in paths]
    wanted += [("GET", "/api/v1/nowhere"), ("POST", "/nowhere/at/all"), ("GET", "/docs"), ("GET", "/openapi.json")]
    return wanted


@pytest.fixture
async def flat_and_tree(app: FastAPI) -> AsyncIterator[tuple[FlatDispatch, Chosen, httpx.AsyncClient]]:
    dispatch = app.router.middleware_stack
    assert isinstance(dispatch, FlatDispatch)
    chosen = Chosen(dispatch)
    app.router.middleware_stack = chosen
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test", follow_redirects=False) as client:
        yield dispatch, chosen, client
    app.router.middleware_stack = dispatch


async def test_every_request_reaches_the_route_the_tree_would_choose(
    app: FastAPI, flat_and_tree: tuple[FlatDispatch, Chosen, httpx.AsyncClient]
):
    dispatch, chosen, client = flat_and_tree
    tree = dispatch._tree
    flat_answers = 0
    for method, path in requests_for(app):
        scope = {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}
        flat_answers += dispatch.choose(scope) is not None
        chosen.app = dispatch
        via_flat = await client.request(method, path)
        flat_route = chosen.last
        chosen.app = tree
        via_tree = await client.request(method, path)
        assert chosen.last == flat_route, (method, path)
        assert (via_flat.status_code, via_flat.headers.get("allow"), via_flat.headers.get("location")) == (
            via_tree.status_code,
            via_tree.headers.get("allow"),
            via_tree.headers.get("location"),
        ), (method, path)
    # The flat scan answers most requests itself: every operation, with its own method.
    assert flat_answers >= len(app.openapi()["paths"])


async def test_routes_added_after_start_are_seen(app: FastAPI, client: httpx.AsyncClient):
    assert (await client.get("/added-later")).status_code == 404

    @app.get("/added-later")
    async def added() -> dict[str, str]:
        return {"ok": "yes"}

    response = await client.get("/added-later")
    assert response.status_code == 200
    assert response.json() == {"ok": "yes"}


async def test_path_parameters_and_a_method_the_path_does_not_allow(client: httpx.AsyncClient):
    assert (await client.get("/api/v1/resemble/tts/voices/not-a-voice")).status_code == 401
    refused = await client.delete("/api/v1/resemble/tts/synthesize")
    assert refused.status_code == 405
    assert "POST" in refused.headers["allow"]
