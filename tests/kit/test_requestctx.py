"""`X-Request-Id`: a caller's acceptable id is echoed, anything else is replaced, and every answer carries one."""

from __future__ import annotations

import re

import httpx
import pytest
import structlog
from starlette.types import Receive, Scope, Send

from voicegate.kit.requestctx import RequestContextMiddleware

GENERATED = re.compile(r"[0-9a-f]{32}")


async def test_an_id_is_made_when_none_is_sent(client: httpx.AsyncClient) -> None:
    first = await client.get("/healthz")
    second = await client.get("/healthz")

    assert GENERATED.fullmatch(first.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


@pytest.mark.parametrize("sent", ["abc", "trace-1.2_3:4", "A" * 64, "0f8fad5b-d9cb-469f-a165-70867728950e"])
async def test_an_acceptable_id_is_echoed(client: httpx.AsyncClient, sent: str) -> None:
    response = await client.get("/healthz", headers={"X-Request-Id": sent})

    assert response.headers.get_list("x-request-id") == [sent]


@pytest.mark.parametrize("sent", ["A" * 65, "a b", "x;y", "<script>", "id\tx", "é"])
async def test_an_unacceptable_id_is_replaced(client: httpx.AsyncClient, sent: str) -> None:
    response = await client.get("/healthz", headers={"X-Request-Id": sent.encode("latin-1")})  # type: ignore[dict-item]

    assert GENERATED.fullmatch(response.headers["x-request-id"])


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/v1/user/usage", 401),
        ("GET", "/no/such/route", 404),
        ("POST", "/api/v1/admin/users", 401),
    ],
)
async def test_error_answers_carry_it_too(client: httpx.AsyncClient, method: str, path: str, status: int) -> None:
    response = await client.request(method, path, headers={"X-Request-Id": "err-1"})

    assert response.status_code == status
    assert response.headers["x-request-id"] == "err-1"
    assert "detail" in response.json()


async def test_a_validation_error_of_a_signed_in_user_carries_it(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.post(
        "/api/v1/admin/users", json={"email": 1}, headers={**admin_headers, "X-Request-Id": "v-1"}
    )

    assert response.status_code == 422
    assert response.headers["x-request-id"] == "v-1"


@pytest.fixture
def admin_headers() -> dict[str, str]:
    return {"Authorization": "Bearer test-admin-key"}


async def test_a_request_inside_a_request_keeps_both_contexts_apart() -> None:
    """The in-process simulator calls the gateway from inside a gateway request, in the same task."""
    seen: list[dict[str, object]] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(structlog.contextvars.get_contextvars())
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    inner_app = RequestContextMiddleware(inner)

    async def outer(scope: Scope, receive: Receive, send: Send) -> None:
        structlog.contextvars.bind_contextvars(user_id="u-outer")
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=inner_app), base_url="http://inner") as http:
            await http.get("/", headers={"X-Request-Id": "inner"})
        seen.append(structlog.contextvars.get_contextvars())
        await send({"type": "http.response.start", "status": 204, "headers": [(b"x-request-id", b"stale")]})
        await send({"type": "http.response.body", "body": b""})

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=RequestContextMiddleware(outer))) as http:
        response = await http.get("http://outer/", headers={"X-Request-Id": "outer"})

    assert seen == [{"request_id": "inner"}, {"request_id": "outer", "user_id": "u-outer"}]
    assert response.headers.get_list("x-request-id") == ["outer"]  # the app's own header is replaced, not doubled
    assert structlog.contextvars.get_contextvars() == {}
