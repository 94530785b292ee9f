"""The credential cache keeps plain data only: a rolled-back session in one request never breaks the next.

Each scenario first makes a request whose unit of work rolls back (an error after the session was used, or the
idempotency claim losing its insert), then walks every authenticated operation of the OpenAPI document with the
same credential and expects an ordinary answer: 200 for a listing, 404 for an unknown id, 4xx for an empty body.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import fields, is_dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import Customer, create_customer
from tests.resemble.jobs.helpers import submit, upload
from voicegate.db.base import Base

UNKNOWN_ID = "doesnotexist0000000000"
PUBLIC_PREFIXES = ("/api/v1/auth/", "/api/v1/admin/", "/api/v1/webhooks/resemble/")
# With the Business plan on, gated routes run their code too (closed, they answer a documented 503 by design).
pytestmark = pytest.mark.usefixtures("business_plan")


@pytest.fixture
async def customer(session: AsyncSession) -> Customer:
    return await create_customer(session, credits="10.00")


@pytest.fixture
async def stranger(session: AsyncSession) -> Customer:
    return await create_customer(session, credits="10.00")


def authenticated_operations(app: FastAPI) -> list[tuple[str, str]]:
    operations = []
    for path, item in app.openapi()["paths"].items():
        if not path.startswith("/api/v1/") or path.startswith(PUBLIC_PREFIXES):
            continue
        operations.extend((method.upper(), path) for method in item if method in ("get", "post", "put", "delete"))
    return sorted(operations)


# Singular resources a new user does not have yet: their GET is a 404 until one is stored.
NOTHING_STORED_IS_404 = frozenset({"/api/v1/user/byok/resemble"})


async def walk(client: httpx.AsyncClient, app: FastAPI, headers: dict[str, str]) -> dict[str, int]:
    """Call every authenticated operation once; returns `"METHOD path" -> status` for the ones that misbehaved."""
    wrong: dict[str, int] = {}
    for method, path in authenticated_operations(app):
        url = re.sub(r"\{[^}]+\}", UNKNOWN_ID, path)
        has_id = url != path
        if method == "GET":
            response = await client.get(url, headers=headers)
            expected: tuple[int, ...] = (404,) if has_id or path in NOTHING_STORED_IS_404 else (200,)
        else:
            response = await client.request(method, url, headers=headers, json={})
            # An empty body is refused, or accepted where nothing is required (rotating a secret): either way the
            # credential was honoured.
            expected = (200, 201, 400, 404, 409, 415, 422)
        if response.status_code not in expected:
            wrong[f"{method} {path}"] = response.status_code
    return wrong


async def foreign_job_lookup(client: httpx.AsyncClient, customer: Customer, stranger: Customer) -> None:
    media = await upload(client, stranger)
    job = (await submit(client, stranger, "stt", media["url"])).json()
    response = await client.get(f"/api/v1/resemble/stt/{job['job_id']}", headers=customer.headers)
    assert response.status_code == 404


async def idempotency_conflict(client: httpx.AsyncClient, customer: Customer, _: Customer) -> None:
    voices = (await client.get("/api/v1/resemble/tts/voices", headers=customer.headers)).json()
    body = {"voice_uuid": voices["items"][0]["uuid"], "text": "Once, and only once."}
    headers = {**customer.headers, "Idempotency-Key": "same-key"}
    first = await client.post("/api/v1/resemble/tts/synthesize", json=body, headers=headers)
    changed = await client.post("/api/v1/resemble/tts/synthesize", json={**body, "text": "Twice?"}, headers=headers)
    assert (first.status_code, changed.status_code) == (200, 422)


async def unknown_upload(client: httpx.AsyncClient, customer: Customer, _: Customer) -> None:
    response = await client.post(
        "/api/v1/resemble/enhance",
        json={"audio_url": f"http://testserver/files/{UNKNOWN_ID}"},
        headers=customer.headers,
    )
    assert response.status_code in (404, 422)


Trigger = Callable[[httpx.AsyncClient, Customer, Customer], Awaitable[None]]


@pytest.mark.parametrize("trigger", [foreign_job_lookup, idempotency_conflict, unknown_upload])
class TestAfterARollback:
    async def test_every_route_answers_for_the_same_api_key(
        self, app: FastAPI, client: httpx.AsyncClient, customer: Customer, stranger: Customer, trigger: Trigger
    ):
        await client.get("/api/v1/user/usage", headers=customer.headers)  # the credential is cached from here on
        await trigger(client, customer, stranger)
        assert await walk(client, app, customer.headers) == {}

    async def test_every_route_answers_for_the_same_access_token(
        self, app: FastAPI, client: httpx.AsyncClient, customer: Customer, stranger: Customer, trigger: Trigger
    ):
        token = (await client.post("/api/v1/auth/api-key", headers={"X-API-Key": customer.api_key})).json()
        client.cookies.clear()
        bearer = {"Authorization": f"Bearer {token['access_token']}"}
        await client.get("/api/v1/user/usage", headers=bearer)
        await trigger(client, Customer(user=customer.user, api_key=token["access_token"]), stranger)
        assert await walk(client, app, bearer) == {}


class TestTheReportedSequence:
    async def test_listing_after_another_users_job_is_200(
        self, client: httpx.AsyncClient, customer: Customer, stranger: Customer
    ):
        await foreign_job_lookup(client, customer, stranger)
        response = await client.get("/api/v1/resemble/stt?page=1&page_size=10", headers=customer.headers)
        assert response.status_code == 200, response.text


def orm_instances(value: Any, seen: set[int] | None = None) -> list[Any]:
    """Every ORM instance reachable from `value` through containers and dataclasses."""
    seen = set() if seen is None else seen
    if id(value) in seen:
        return []
    seen.add(id(value))
    if isinstance(value, Base):
        return [value]
    if isinstance(value, dict):
        children: list[Any] = [*value.keys(), *value.values()]
    elif isinstance(value, list | tuple | set | frozenset):
        children = list(value)
    elif is_dataclass(value) and not isinstance(value, type):
        children = [getattr(value, f.name) for f in fields(value)]
    else:
        return []
    return [found for child in children for found in orm_instances(child, seen)]


class TestWhatTheProcessKeeps:
    async def test_caches_hold_no_orm_instances(self, app: FastAPI, client: httpx.AsyncClient, customer: Customer):
        await client.get("/api/v1/user/usage", headers=customer.headers)
        await client.get("/api/v1/resemble/tts/voices", headers=customer.headers)
        resources = app.state.resources
        cached = [*resources.credentials._entries.values(), await resources.voices.snapshot()]
        assert len(cached) >= 2
        assert orm_instances(cached) == []
        assert orm_instances(vars(app.state)) == []

    async def test_a_cache_hit_reads_no_credential_from_the_database(
        self, app: FastAPI, client: httpx.AsyncClient, customer: Customer
    ):
        await client.get("/api/v1/resemble/tts/voices", headers=customer.headers)
        statements: list[str] = []

        def count(*args: Any) -> None:
            statements.append(str(args[2]))

        engine = app.state.resources.engine.sync_engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            response = await client.get("/api/v1/resemble/tts/voices", headers=customer.headers)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert response.status_code == 200
        assert statements  # the listing itself reads who owns which voice
        assert [s for s in statements if re.search(r"\b(api_keys|users)\b", s)] == []

    async def test_a_cached_voice_cannot_be_changed_by_its_reader(
        self, app: FastAPI, client: httpx.AsyncClient, customer: Customer
    ):
        snapshot = await app.state.resources.voices.snapshot()
        first = snapshot.item(snapshot.uuids[0])
        assert first is not None
        name = first["name"]
        first["name"] = "changed"
        again = (await app.state.resources.voices.snapshot()).item(snapshot.uuids[0])
        assert again is not None
        assert again["name"] == name
