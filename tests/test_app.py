"""Every app `create_app` builds serves one route tree analysed once; each app keeps its own routes and overrides."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from voicegate.app import create_app
from voicegate.config import Settings
from voicegate.deps import get_resources
from voicegate.errors import NotFound
from voicegate.resources import Resources


def client_for(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


async def test_a_dependency_override_applies_to_its_own_app_only(client: httpx.AsyncClient, settings: Settings):
    other = create_app(settings)

    async def refuse() -> Resources:
        raise NotFound("overridden on this app")

    other.dependency_overrides[get_resources] = refuse
    async with client_for(other) as http:
        overridden = await http.get("/readyz")
    assert overridden.status_code == 404
    assert overridden.json() == {"detail": "overridden on this app"}
    assert (await client.get("/readyz")).status_code == 200


async def test_a_route_added_to_one_app_is_not_served_by_another(settings: Settings):
    first, second = create_app(settings), create_app(settings)

    @first.get("/only-on-first")
    async def only_on_first() -> dict[str, bool]:
        return {"ok": True}

    async with client_for(first) as on_first, client_for(second) as on_second:
        assert (await on_first.get("/only-on-first")).json() == {"ok": True}
        assert (await on_second.get("/only-on-first")).status_code == 404
        assert (await on_second.get("/")).json()["service"] == "voicegate"
