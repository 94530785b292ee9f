from __future__ import annotations

import json
import time
from typing import Any

import anyio
import httpx
import pytest

from .conftest import AUTH, VOICE_UUID

VOICES = "/api/v2/voices?page=1"


async def add_fault(client: httpx.AsyncClient, **fault: Any) -> dict[str, Any]:
    response = await client.post("/_sim/faults", json=fault)
    assert response.status_code == 201, response.text
    return response.json()


async def test_fault_defaults(client: httpx.AsyncClient) -> None:
    fault = await add_fault(client, path="^/api/v2/voices$")
    assert fault["id"]
    assert {k: fault[k] for k in ("path", "status", "count", "delay_ms", "mode")} == {
        "path": "^/api/v2/voices$",
        "status": 500,
        "count": 1,
        "delay_ms": 0,
        "mode": "status",
    }
    assert (await client.get("/_sim/faults")).json()[0]["id"] == fault["id"]


async def test_status_fault_counts_down(client: httpx.AsyncClient) -> None:
    await add_fault(client, path="voices", status=503, count=2)
    statuses = [(await client.get(VOICES, headers=AUTH)).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    assert (await client.get("/_sim/faults")).json() == []


async def test_status_fault_body_and_retry_after(client: httpx.AsyncClient) -> None:
    await add_fault(client, path="synthesize", status=429)
    response = await client.post("/synthesize", json={"voice_uuid": VOICE_UUID, "data": "hi"}, headers=AUTH)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert response.json()["success"] is False
    assert isinstance(response.json()["message"], str)


async def test_fault_only_hits_matching_paths_and_applies_before_auth(client: httpx.AsyncClient) -> None:
    await add_fault(client, path=r"/voices/\w+$", status=502, count=-1)
    assert (await client.get(VOICES, headers=AUTH)).status_code == 200
    for _ in range(3):
        assert (await client.get(f"/api/v2/voices/{VOICE_UUID}")).status_code == 502
    assert (await client.delete("/_sim/faults")).status_code == 200
    assert (await client.get(f"/api/v2/voices/{VOICE_UUID}", headers=AUTH)).status_code == 200


async def test_status_fault_with_delay(client: httpx.AsyncClient) -> None:
    await add_fault(client, path="voices", status=500, delay_ms=200)
    started = time.monotonic()
    response = await client.get(VOICES, headers=AUTH)
    assert response.status_code == 500
    assert time.monotonic() - started >= 0.2


async def test_timeout_fault_delays_then_answers_normally(client: httpx.AsyncClient) -> None:
    await add_fault(client, path="voices", mode="timeout", delay_ms=250)
    started = time.monotonic()
    response = await client.get(VOICES, headers=AUTH)
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.25


async def test_timeout_fault_default_delay_is_cancellable(client: httpx.AsyncClient) -> None:
    # ASGITransport ignores httpx timeouts, so in-process callers must bound the call themselves.
    fault = await add_fault(client, path="voices", mode="timeout")
    assert fault["delay_ms"] == 30_000
    with pytest.raises(TimeoutError):
        with anyio.fail_after(0.2):
            await client.get(VOICES, headers=AUTH)
    assert (await client.get(VOICES, headers=AUTH)).status_code == 200


async def test_reset_fault_raises_a_transport_error_in_process(client: httpx.AsyncClient) -> None:
    await add_fault(client, path="synthesize", mode="reset")
    with pytest.raises(httpx.TransportError) as caught:
        await client.post("/synthesize", json={"voice_uuid": VOICE_UUID, "data": "hi"}, headers=AUTH)
    assert isinstance(caught.value, ConnectionResetError)
    ok = await client.post("/synthesize", json={"voice_uuid": VOICE_UUID, "data": "hi"}, headers=AUTH)
    assert ok.status_code == 200


async def test_malformed_fault(client: httpx.AsyncClient) -> None:
    await add_fault(client, path="voices", mode="malformed")
    response = await client.get(VOICES, headers=AUTH)
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()


@pytest.mark.parametrize(
    "fault",
    [
        {},
        {"path": "("},
        {"path": "x", "mode": "explode"},
        {"path": "x", "status": 99},
        {"path": "x", "status": "500"},
        {"path": "x", "count": 0},
        {"path": "x", "count": -2},
        {"path": "x", "delay_ms": -1},
    ],
)
async def test_invalid_fault(client: httpx.AsyncClient, fault: dict[str, Any]) -> None:
    response = await client.post("/_sim/faults", json=fault)
    assert response.status_code == 400
    assert response.json()["success"] is False


async def test_request_log(client: httpx.AsyncClient) -> None:
    await client.get("/api/v2/voices", params={"page": 1, "page_size": 20}, headers={"Authorization": "Token token=k"})
    await client.post(
        "/synthesize",
        json={"voice_uuid": VOICE_UUID, "data": "hello"},
        headers={"Authorization": "Bearer secret"},
    )
    await client.get(f"/api/v2/voices/{VOICE_UUID}", headers={"Authorization": "bare-secret"})
    await client.get("/_sim/faults")  # hook calls are not logged

    log = (await client.get("/_sim/requests")).json()
    assert [(entry["method"], entry["path"]) for entry in log] == [
        ("GET", "/api/v2/voices"),
        ("POST", "/synthesize"),
        ("GET", f"/api/v2/voices/{VOICE_UUID}"),
    ]
    first, second, third = log
    assert first["query"] == {"page": "1", "page_size": "20"}
    assert first["json"] is None
    assert first["status"] == 401
    assert first["headers"]["authorization"] == "Token <redacted>"
    assert second["headers"]["authorization"] == "Bearer <redacted>"
    assert second["json"] == {"voice_uuid": VOICE_UUID, "data": "hello"}
    assert third["headers"]["authorization"] == "<redacted>"
    assert "secret" not in json.dumps(log)
    assert first["received_at"] <= second["received_at"] <= third["received_at"]

    assert (await client.delete("/_sim/requests")).status_code == 200
    assert (await client.get("/_sim/requests")).json() == []


async def test_faulted_requests_are_logged(client: httpx.AsyncClient) -> None:
    await add_fault(client, path="voices", status=500)
    await client.get(VOICES, headers=AUTH)
    await client.get(VOICES, headers=AUTH)
    log = (await client.get("/_sim/requests")).json()
    assert [entry["status"] for entry in log] == [500, 200]
