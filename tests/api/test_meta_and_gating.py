from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import Depends, FastAPI

from voicegate.app import create_app
from voicegate.config import Settings
from voicegate.resemble.gating import require_business_plan


async def test_index_names_the_service(client: httpx.AsyncClient):
    body = (await client.get("/")).json()
    assert body["service"] == "voicegate"
    assert body["version"]


async def test_healthz(client: httpx.AsyncClient):
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["upstream_circuit"] == "closed"


async def test_unknown_route_and_wrong_method_are_json(client: httpx.AsyncClient):
    missing = await client.get("/api/v1/nothing-here")
    assert missing.status_code in (401, 404)
    assert "detail" in missing.json()
    wrong = await client.delete("/")
    assert wrong.status_code == 405
    assert "detail" in wrong.json()


@pytest.fixture
async def gated_client(settings: Settings, request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    app: FastAPI = create_app(settings.model_copy(update={"resemble_business_plan_active": request.param}))
    calls: list[str] = []

    @app.post("/gated-for-test", dependencies=[Depends(require_business_plan)])
    async def gated() -> dict[str, bool]:
        calls.append("reached")
        return {"ok": True}

    app.state.calls = calls
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
            http.app_calls = calls  # type: ignore[attr-defined]
            yield http


@pytest.mark.parametrize("gated_client", [False], indirect=True)
async def test_gate_closed_answers_503_business_plan_without_reaching_the_route(
    gated_client: httpx.AsyncClient,
):
    response = await gated_client.post("/gated-for-test")
    assert response.status_code == 503
    assert "business-plan" in response.json()["detail"].lower()
    assert gated_client.app_calls == []  # type: ignore[attr-defined]


@pytest.mark.parametrize("gated_client", [True], indirect=True)
async def test_gate_open_lets_the_route_run(gated_client: httpx.AsyncClient):
    response = await gated_client.post("/gated-for-test")
    assert response.status_code == 200
