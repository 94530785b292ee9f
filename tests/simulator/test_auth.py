from __future__ import annotations

import httpx
import pytest

from voicegate.simulator import create_simulator_app

from .conftest import API_KEY


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": f"Bearer {API_KEY}"},
        {"Authorization": API_KEY},
        {"Authorization": f"Token token={API_KEY}"},
        {"Authorization": f'Token token="{API_KEY}"'},
        {"Authorization": f"Token {API_KEY}"},
        {"Authorization": f"bearer {API_KEY}"},
        {"x-access-token": API_KEY},
    ],
)
async def test_accepted_header_forms(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await client.get("/api/v2/voices", params={"page": 1}, headers=headers)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Bearer "},
        {"Authorization": "Token token=wrong"},
        {"Authorization": f"Basic {API_KEY}"},
        {"Authorization": f"{API_KEY}x"},
    ],
)
async def test_rejected(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    for method, path in [("GET", "/api/v2/voices?page=1"), ("POST", "/synthesize")]:
        response = await client.request(method, path, headers=headers, json={})
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/json"
        body = response.json()
        assert body["success"] is False
        assert body["message"] == "Invalid API token"


async def test_any_key_when_none_configured() -> None:
    app = create_simulator_app(None)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim") as client:
        ok = await client.get("/api/v2/voices", params={"page": 1}, headers={"Authorization": "Bearer anything"})
        missing = await client.get("/api/v2/voices", params={"page": 1})
    assert ok.status_code == 200
    assert missing.status_code == 401


def test_empty_api_key_is_refused() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        create_simulator_app("")


async def test_unknown_path_and_method_are_json(client: httpx.AsyncClient) -> None:
    missing = await client.get("/api/v2/nothing-here", headers={"Authorization": API_KEY})
    assert missing.status_code == 404
    assert missing.json()["success"] is False
    assert "/api/v2/nothing-here" in missing.json()["message"]

    wrong_method = await client.put("/synthesize", headers={"Authorization": API_KEY})
    assert wrong_method.status_code == 405
    assert wrong_method.headers["content-type"] == "application/json"
    assert wrong_method.json()["success"] is False
