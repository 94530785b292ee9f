from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from tests import services
from tests.factories import ADMIN_HEADERS
from voicegate.app import create_app
from voicegate.config import Settings
from voicegate.resemble.gating import require_business_plan

SETTINGS = "/api/v1/admin/settings"
CHANGES = "/api/v1/admin/settings/changes"
GATED = "/gated-for-test"

Gateway = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


def gated_app(settings: Settings) -> FastAPI:
    """The gateway with one extra route behind the Business-plan gate, counting the calls that reach it."""
    app = create_app(settings)
    app.state.gated_calls = 0

    @app.post(GATED, dependencies=[Depends(require_business_plan)])
    async def gated() -> dict[str, bool]:
        app.state.gated_calls += 1
        return {"ok": True}

    return app


@pytest.fixture
def gateway(settings: Settings) -> Gateway:
    """Start gateway processes (in-process apps) on the one test database: `async with gateway(**overrides)`."""

    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        app = gated_app(settings.model_copy(update=overrides))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
                http.app = app  # type: ignore[attr-defined]
                yield http
            await services.truncate_all(app.state.resources.engine)

    return start


async def put_settings(client: httpx.AsyncClient, body: object, **headers: str) -> httpx.Response:
    return await client.put(SETTINGS, json=body, headers={**ADMIN_HEADERS, **headers})


async def setting(client: httpx.AsyncClient, name: str = "business_plan_active") -> dict[str, Any]:
    response = await client.get(SETTINGS, headers=ADMIN_HEADERS)
    assert response.status_code == 200, response.text
    return next(item for item in response.json()["settings"] if item["name"] == name)


def app_of(client: httpx.AsyncClient) -> FastAPI:
    app: FastAPI = client.app  # type: ignore[attr-defined]
    return app


@pytest.fixture
def settings_table_unreadable() -> Iterator[Callable[[AsyncEngine], None]]:
    """`cut(engine)`: from now on every read of the settings table fails as in a database outage."""
    cut: list[tuple[Any, Any]] = []

    def refuse(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "gateway_settings" in statement:
            raise OperationalError(statement, {}, ConnectionRefusedError("database unavailable"))

    def install(engine: AsyncEngine) -> None:
        event.listen(engine.sync_engine, "before_cursor_execute", refuse)
        cut.append((engine.sync_engine, refuse))

    yield install
    for target, listener in cut:
        event.remove(target, "before_cursor_execute", listener)
