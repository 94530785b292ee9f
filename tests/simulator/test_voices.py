from __future__ import annotations

import httpx
import pytest

from voicegate.simulator import SEEDED_VOICES

from .conftest import AUTH

VOICE_FIELDS = {
    "uuid",
    "name",
    "status",
    "created_at",
    "updated_at",
    "default_language",
    "voice_type",
    "voice_status",
    "supported_languages",
    "component_status",
    "api_support",
    "source",
}


def test_seeded_voices_look_like_resemble_ids() -> None:
    assert 5 <= len(SEEDED_VOICES) <= 6
    uuids = [voice["uuid"] for voice in SEEDED_VOICES]
    assert len(set(uuids)) == len(uuids)
    for uuid in uuids:
        assert len(uuid) == 8
        int(uuid, 16)


async def test_list_envelope_and_items(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v2/voices", params={"page": 1, "page_size": 10}, headers=AUTH)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"success", "page", "num_pages", "page_size", "items"}
    assert body["success"] is True
    assert (body["page"], body["num_pages"], body["page_size"]) == (1, 1, 10)
    assert [item["uuid"] for item in body["items"]] == [voice["uuid"] for voice in SEEDED_VOICES]
    for item in body["items"]:
        assert set(item) == VOICE_FIELDS
        assert set(item["component_status"]) == {"text_to_speech", "fill", "voice_conversion"}
        assert set(item["api_support"]) == {"sync", "async", "direct_synthesis", "streaming"}


async def test_page_size_defaults_to_10_and_pages_past_the_end_are_empty(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v2/voices", params={"page": 2, "advanced": "true"}, headers=AUTH)
    assert response.status_code == 200
    body = response.json()
    assert (body["page"], body["num_pages"], body["page_size"], body["items"]) == (2, 1, 10, [])


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "page"),
        ({"page": 0}, "page"),
        ({"page": "x"}, "page"),
        ({"page": 1, "page_size": 9}, "page_size"),
        ({"page": 1, "page_size": 1001}, "page_size"),
        ({"page": 1, "advanced": "maybe"}, "advanced"),
    ],
)
async def test_list_bounds(client: httpx.AsyncClient, params: dict[str, object], field: str) -> None:
    response = await client.get("/api/v2/voices", params=params, headers=AUTH)
    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False
    assert isinstance(body["message"], str)
    assert field in body["errors"]


async def test_page_size_upper_bound_is_inclusive(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v2/voices", params={"page": 1, "page_size": 1000}, headers=AUTH)
    assert response.status_code == 200
    assert response.json()["page_size"] == 1000


async def test_get_voice(client: httpx.AsyncClient) -> None:
    voice = SEEDED_VOICES[2]
    response = await client.get(f"/api/v2/voices/{voice['uuid']}", headers=AUTH)
    assert response.status_code == 200
    assert response.json() == {"success": True, "item": voice}


async def test_unknown_voice_is_404_error_shape(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v2/voices/deadbeef", headers=AUTH)
    assert response.status_code == 404
    body = response.json()
    assert body["success"] is False
    assert "deadbeef" in body["message"]
