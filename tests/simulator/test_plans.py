"""The account's plan: on Flex, Business-only calls answer 403 in Resemble's error shape; nothing else changes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.websockets import WebSocket

from voicegate.simulator import close_simulator_app, create_simulator_app

from .conftest import API_KEY, AUTH, VOICE_UUID

BUSINESS_ONLY = [
    ("POST", "/api/v2/voices"),
    ("POST", "/api/v2/voices/abc123/build"),
    ("DELETE", "/api/v2/voices/abc123"),
    ("POST", "/api/v2/voice-design"),
    ("POST", "/api/v2/voice-design/d1e2f3/0/create_rapid_voice"),
    ("POST", "/api/v2/voice-design/d1e2f3/2/create"),
]
FLEX = [
    ("GET", "/api/v2/voices?page=1"),
    ("GET", f"/api/v2/voices/{VOICE_UUID}"),
    ("GET", "/api/v2/voice-design"),
    ("GET", "/api/v2/projects?page=1"),
]


async def set_plan(client: httpx.AsyncClient, plan: str) -> None:
    response = await client.put("/_sim/plan", json={"plan": plan})
    assert response.status_code == 200, response.text
    assert response.json() == {"plan": plan}


class TestFlexPlan:
    async def test_starts_on_flex(self, client: httpx.AsyncClient) -> None:
        assert (await client.get("/_sim/plan")).json() == {"plan": "flex"}

    @pytest.mark.parametrize(("method", "path"), BUSINESS_ONLY)
    async def test_business_only_call_is_403_in_resembles_shape(
        self, client: httpx.AsyncClient, method: str, path: str
    ) -> None:
        response = await client.request(method, path, json={"name": "x"}, headers=AUTH)
        assert response.status_code == 403
        body = response.json()
        assert body["success"] is False
        assert "Business plan" in body["message"]

    @pytest.mark.parametrize(("method", "path"), FLEX)
    async def test_other_calls_are_unaffected(self, client: httpx.AsyncClient, method: str, path: str) -> None:
        response = await client.request(method, path, headers=AUTH)
        assert response.status_code != 403, response.text

    async def test_synthesis_still_works(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/synthesize", json={"voice_uuid": VOICE_UUID, "data": "hi"}, headers=AUTH)
        assert response.status_code == 200

    async def test_authentication_comes_first(self, client: httpx.AsyncClient) -> None:
        assert (await client.post("/api/v2/voices", json={"name": "x"})).status_code == 401

    async def test_the_refusal_is_logged_like_any_call(self, client: httpx.AsyncClient) -> None:
        await client.post("/api/v2/voices", json={"name": "x"}, headers=AUTH)
        logged = (await client.get("/_sim/requests")).json()
        assert [(r["method"], r["path"], r["status"]) for r in logged] == [("POST", "/api/v2/voices", 403)]


class TestSwitchingPlan:
    async def test_business_lets_the_call_through(self, client: httpx.AsyncClient) -> None:
        await set_plan(client, "business")
        response = await client.post("/api/v2/voice-design/d1e2f3/0/create", headers=AUTH)
        assert response.status_code != 403  # reaches the route table (404 until the route exists)

    async def test_back_to_flex_refuses_again(self, client: httpx.AsyncClient) -> None:
        await set_plan(client, "business")
        await set_plan(client, "flex")
        assert (await client.delete("/api/v2/voices/abc123", headers=AUTH)).status_code == 403

    @pytest.mark.parametrize("body", [{"plan": "enterprise"}, {"plan": None}, {}, ["business"]])
    async def test_unknown_plan_is_400_and_changes_nothing(self, client: httpx.AsyncClient, body: object) -> None:
        response = await client.put("/_sim/plan", json=body)
        assert response.status_code == 400
        assert response.json()["success"] is False
        assert (await client.get("/_sim/plan")).json() == {"plan": "flex"}


class TestPlanAtStart:
    @pytest.fixture
    async def business_app(self) -> AsyncIterator[FastAPI]:
        app = create_simulator_app(API_KEY, plan="business")
        yield app
        await close_simulator_app(app)

    async def test_create_simulator_app_takes_the_plan(self, business_app: FastAPI) -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=business_app), base_url="http://sim") as c:
            assert (await c.get("/_sim/plan")).json() == {"plan": "business"}
            assert (await c.post("/api/v2/voices", json={"name": "x"}, headers=AUTH)).status_code != 403

    def test_an_unknown_plan_is_refused(self) -> None:
        with pytest.raises(ValueError, match="plan"):
            create_simulator_app(API_KEY, plan="gold")  # type: ignore[arg-type]


class TestStreamingSocket:
    """The streaming WebSocket is Business-only: on Flex the handshake is refused before any route runs."""

    @staticmethod
    def app_with_stream(plan: str) -> FastAPI:
        app = create_simulator_app(API_KEY, plan=plan)  # type: ignore[arg-type]

        @app.websocket("/stream")
        async def stream(socket: WebSocket) -> None:
            await socket.accept()
            await socket.close()

        return app

    @staticmethod
    async def handshake(app: FastAPI) -> list[dict[str, Any]]:
        """Drive one WebSocket handshake at the ASGI level; the messages the app sent back."""
        incoming: list[dict[str, Any]] = [{"type": "websocket.connect"}, {"type": "websocket.disconnect", "code": 1000}]
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return incoming.pop(0) if incoming else {"type": "websocket.disconnect", "code": 1000}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {
            "type": "websocket",
            "path": "/stream",
            "raw_path": b"/stream",
            "query_string": b"",
            "headers": [(b"authorization", f"Bearer {API_KEY}".encode())],
            "subprotocols": [],
            "scheme": "ws",
            "server": ("sim", 80),
            "client": ("test", 1),
            "root_path": "",
            "asgi": {"version": "3.0"},
        }
        await app(scope, receive, send)  # type: ignore[arg-type]
        await close_simulator_app(app)
        return sent

    async def test_flex_refuses_the_handshake(self) -> None:
        sent = await self.handshake(self.app_with_stream("flex"))
        assert [m["type"] for m in sent] == ["websocket.close"]
        assert sent[0]["code"] == 1008

    async def test_business_accepts_it(self) -> None:
        sent = await self.handshake(self.app_with_stream("business"))
        assert [m["type"] for m in sent][:1] == ["websocket.accept"]
