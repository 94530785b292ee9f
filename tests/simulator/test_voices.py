from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from voicegate.simulator import SEEDED_VOICES

from .conftest import AUTH, Peer, poll, wait_until, wav_bytes

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


# the account's own voices

VOICES = "/api/v2/voices"
LIBRARY_UUID = SEEDED_VOICES[0]["uuid"]


def clocked(app: FastAPI) -> list[float]:
    """Step the simulator's job clock by hand: `now[0] = seconds`."""
    now = [0.0]
    app.state.simulator.jobs.clock = lambda: now[0]
    return now


async def create_voice(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    response = await client.post(VOICES, json={"name": "Narrator", **fields}, headers=AUTH)
    assert response.status_code == 200, response.text
    item: dict[str, Any] = response.json()["item"]
    return item


async def add_recordings(
    client: httpx.AsyncClient, voice_uuid: str, count: int, *, active: bool = True, prefix: str = "take"
) -> None:
    for index in range(count):
        response = await client.post(
            f"{VOICES}/{voice_uuid}/recordings",
            files={"file": ("take.wav", wav_bytes(1.0 + index / 10))},
            data={"name": f"{prefix} {index}", "text": "Hello there.", "emotion": "neutral", "is_active": str(active)},
            headers=AUTH,
        )
        assert response.status_code == 200, response.text


class TestCreate:
    async def test_a_created_voice_is_a_pending_custom_voice(self, client: httpx.AsyncClient) -> None:
        item = await create_voice(
            client, consent="yes", description="warm", language="fr-FR", callback_uri="https://example.com/hook"
        )
        assert set(item) == VOICE_FIELDS | {"description", "dataset_url", "callback_uri"}
        assert (item["status"], item["voice_status"], item["source"]) == ("pending", "pending", "Custom Voice")
        assert item["component_status"]["text_to_speech"] == {"status": "pending"}
        assert (item["voice_type"], item["default_language"], item["supported_languages"]) == (
            "professional",
            "fr-FR",
            ["fr-FR"],
        )
        assert (item["description"], item["dataset_url"], item["callback_uri"]) == (
            "warm",
            None,
            "https://example.com/hook",
        )
        assert len(item["uuid"]) == 8

    async def test_created_voices_are_listed_and_fetched(self, client: httpx.AsyncClient) -> None:
        item = await create_voice(client, voice_type="rapid_voice")
        listed = (await client.get(VOICES, params={"page": 1}, headers=AUTH)).json()
        assert [voice["uuid"] for voice in listed["items"]][-1] == item["uuid"]
        assert (await client.get(f"{VOICES}/{item['uuid']}", headers=AUTH)).json() == {"success": True, "item": item}

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({}, "name"),
            ({"name": "  "}, "name"),
            ({"name": "x" * 257}, "name"),
            ({"name": 7}, "name"),
            ({"name": "a", "voice_type": "instant"}, "voice_type"),
            ({"name": "a", "dataset_url": "ftp://x/y.zip"}, "dataset_url"),
            ({"name": "a", "callback_uri": "not a url"}, "callback_uri"),
            ({"name": "a", "consent": 3}, "consent"),
            ({"name": "a", "description": ["x"]}, "description"),
        ],
    )
    async def test_invalid_fields_are_422(self, client: httpx.AsyncClient, body: dict[str, Any], field: str) -> None:
        response = await client.post(VOICES, json=body, headers=AUTH)
        assert response.status_code == 422
        assert response.json()["success"] is False
        assert field in response.json()["errors"]

    async def test_a_name_of_256_characters_is_accepted(self, client: httpx.AsyncClient) -> None:
        assert (await create_voice(client, name="x" * 256))["name"] == "x" * 256

    async def test_a_body_that_is_not_a_json_object_is_400(self, client: httpx.AsyncClient) -> None:
        response = await client.post(VOICES, content=b"[1]", headers={**AUTH, "Content-Type": "application/json"})
        assert response.status_code == 400


class TestUpdateAndDelete:
    @pytest.mark.parametrize("method", ["PUT", "PATCH"])
    async def test_update_changes_only_the_given_fields(self, client: httpx.AsyncClient, method: str) -> None:
        item = await create_voice(client, description="before")
        response = await client.request(
            method,
            f"{VOICES}/{item['uuid']}",
            json={"name": "Renamed", "language": "de-DE", "dataset_url": "https://example.com/set.zip"},
            headers=AUTH,
        )
        assert response.status_code == 200
        updated = response.json()["item"]
        assert (updated["name"], updated["default_language"], updated["supported_languages"]) == (
            "Renamed",
            "de-DE",
            ["de-DE"],
        )
        assert (updated["dataset_url"], updated["description"]) == ("https://example.com/set.zip", "before")
        assert (await client.get(f"{VOICES}/{item['uuid']}", headers=AUTH)).json()["item"] == updated

    async def test_update_validates_like_create(self, client: httpx.AsyncClient) -> None:
        item = await create_voice(client)
        for body in ({"name": ""}, {"name": "x" * 257}, {"callback_uri": "nope"}, {"language": ""}):
            response = await client.patch(f"{VOICES}/{item['uuid']}", json=body, headers=AUTH)
            assert response.status_code == 422, body
        assert (await client.get(f"{VOICES}/{item['uuid']}", headers=AUTH)).json()["item"]["name"] == "Narrator"

    async def test_library_voices_cannot_be_changed_or_deleted(self, client: httpx.AsyncClient) -> None:
        assert (await client.put(f"{VOICES}/{LIBRARY_UUID}", json={"name": "x"}, headers=AUTH)).status_code == 403
        response = await client.delete(f"{VOICES}/{LIBRARY_UUID}", headers=AUTH)
        assert response.status_code == 403
        assert response.json()["success"] is False
        assert (await client.get(f"{VOICES}/{LIBRARY_UUID}", headers=AUTH)).status_code == 200

    async def test_delete_removes_the_voice(self, client: httpx.AsyncClient) -> None:
        item = await create_voice(client)
        response = await client.delete(f"{VOICES}/{item['uuid']}", headers=AUTH)
        assert response.status_code == 200
        assert response.json()["success"] is True
        assert (await client.get(f"{VOICES}/{item['uuid']}", headers=AUTH)).status_code == 404
        assert (await client.delete(f"{VOICES}/{item['uuid']}", headers=AUTH)).status_code == 404

    async def test_seeded_custom_voices_can_be_deleted(self, client: httpx.AsyncClient) -> None:
        custom = next(voice for voice in SEEDED_VOICES if voice["source"] == "Custom Voice")
        assert (await client.delete(f"{VOICES}/{custom['uuid']}", headers=AUTH)).status_code == 200

    @pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
    async def test_unknown_voice_is_404(self, client: httpx.AsyncClient, method: str) -> None:
        response = await client.request(method, f"{VOICES}/deadbeef", json={}, headers=AUTH)
        assert response.status_code == 404
        assert "deadbeef" in response.json()["message"]


class TestBuild:
    async def test_status_goes_initializing_running_finished(self, client: httpx.AsyncClient, sim_app: FastAPI) -> None:
        now = clocked(sim_app)
        item = await create_voice(client)
        await add_recordings(client, item["uuid"], 3)
        response = await client.post(f"{VOICES}/{item['uuid']}/build", json={"fill": False}, headers=AUTH)
        assert response.status_code == 200
        assert response.json()["success"] is True
        assert isinstance(response.json()["message"], str)
        delay = sim_app.state.simulator.jobs.delay_s
        seen = []
        for elapsed in (0.0, delay * 0.49, delay * 0.5, delay, 100.0):
            now[0] = elapsed
            voice = (await client.get(f"{VOICES}/{item['uuid']}", headers=AUTH)).json()["item"]
            assert voice["voice_status"] == voice["status"]
            assert voice["component_status"]["fill"] == {"status": voice["status"]}
            seen.append(voice["status"])
        assert seen == ["initializing", "initializing", "running", "finished", "finished"]
        listed = (await client.get(VOICES, params={"page": 1}, headers=AUTH)).json()["items"]
        assert next(v for v in listed if v["uuid"] == item["uuid"])["status"] == "finished"

    async def test_a_voice_cannot_be_built_twice_at_once(self, client: httpx.AsyncClient, sim_app: FastAPI) -> None:
        now = clocked(sim_app)
        item = await create_voice(client, voice_type="rapid", dataset_url="https://example.com/set.zip")
        assert (await client.post(f"{VOICES}/{item['uuid']}/build", headers=AUTH)).status_code == 200
        again = await client.post(f"{VOICES}/{item['uuid']}/build", headers=AUTH)
        assert again.status_code == 400
        assert "already" in again.json()["message"]
        now[0] = 100.0
        assert (await client.post(f"{VOICES}/{item['uuid']}/build", headers=AUTH)).status_code == 200

    async def test_a_professional_voice_needs_three_active_recordings(self, client: httpx.AsyncClient) -> None:
        item = await create_voice(client, dataset_url="https://example.com/set.zip")
        await add_recordings(client, item["uuid"], 2)
        await add_recordings(client, item["uuid"], 1, active=False, prefix="inactive")
        response = await client.post(f"{VOICES}/{item['uuid']}/build", headers=AUTH)
        assert response.status_code == 422
        assert "3 active recordings" in response.json()["message"]
        assert "recordings" in response.json()["errors"]
        assert (await client.get(f"{VOICES}/{item['uuid']}", headers=AUTH)).json()["item"]["status"] == "pending"

    @pytest.mark.parametrize("voice_type", ["rapid", "rapid_voice"])
    async def test_a_rapid_voice_needs_a_recording_or_a_dataset(
        self, client: httpx.AsyncClient, voice_type: str
    ) -> None:
        bare = await create_voice(client, voice_type=voice_type)
        assert (await client.post(f"{VOICES}/{bare['uuid']}/build", headers=AUTH)).status_code == 422
        await add_recordings(client, bare["uuid"], 1)
        assert (await client.post(f"{VOICES}/{bare['uuid']}/build", headers=AUTH)).status_code == 200
        dataset = await create_voice(client, voice_type=voice_type, dataset_url="https://example.com/set.zip")
        assert (await client.post(f"{VOICES}/{dataset['uuid']}/build", headers=AUTH)).status_code == 200

    async def test_library_voices_cannot_be_built(self, client: httpx.AsyncClient) -> None:
        response = await client.post(f"{VOICES}/{LIBRARY_UUID}/build", headers=AUTH)
        assert response.status_code == 400
        assert "library" in response.json()["message"]
        assert (await client.post(f"{VOICES}/deadbeef/build", headers=AUTH)).status_code == 404

    async def test_fill_must_be_a_boolean(self, client: httpx.AsyncClient) -> None:
        item = await create_voice(client, voice_type="rapid", dataset_url="https://example.com/set.zip")
        response = await client.post(f"{VOICES}/{item['uuid']}/build", json={"fill": "yes"}, headers=AUTH)
        assert response.status_code == 422
        assert "fill" in response.json()["errors"]

    async def test_the_finished_voice_is_posted_to_its_callback_signed(self, jc: httpx.AsyncClient, peer: Peer) -> None:
        item = await create_voice(
            jc, voice_type="rapid", dataset_url="https://example.com/set.zip", callback_uri=peer.hook("voice")
        )
        assert (await jc.post(f"{VOICES}/{item['uuid']}/build", headers=AUTH)).status_code == 200
        await wait_until(lambda: len(peer.received) == 1)
        delivered = peer.received[0]
        assert delivered.signature_ok()
        assert delivered.json()["success"] is True
        assert delivered.json()["item"]["uuid"] == item["uuid"]
        assert delivered.json()["item"]["status"] == "finished"

    async def test_a_faulted_build_ends_failed(self, jc: httpx.AsyncClient, peer: Peer) -> None:
        item = await create_voice(
            jc, voice_type="rapid", dataset_url="https://example.com/set.zip", callback_uri=peer.hook("voice")
        )
        await jc.post("/_sim/faults", json={"path": "/build$", "mode": "job_fail"})
        assert (await jc.post(f"{VOICES}/{item['uuid']}/build", headers=AUTH)).status_code == 200
        body = await poll(jc, f"{VOICES}/{item['uuid']}", lambda b: b["item"]["status"] not in BUILDING)
        assert body["item"]["status"] == "failed"
        assert body["item"]["component_status"]["text_to_speech"] == {"status": "failed"}
        await wait_until(lambda: len(peer.received) == 1)
        assert peer.received[0].json()["item"]["status"] == "failed"

    async def test_a_voice_without_callback_uri_sends_nothing(self, jc: httpx.AsyncClient, jobs_app: FastAPI) -> None:
        item = await create_voice(jc, voice_type="rapid", dataset_url="https://example.com/set.zip")
        await jc.post(f"{VOICES}/{item['uuid']}/build", headers=AUTH)
        await poll(jc, f"{VOICES}/{item['uuid']}", lambda b: b["item"]["status"] == "finished")
        assert jobs_app.state.simulator.jobs.pending_callbacks() == 0
        assert (await jc.get("/_sim/callbacks")).json() == []


BUILDING = {"initializing", "running"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v2/voices"),
        ("PUT", "/api/v2/voices/v1"),
        ("PATCH", "/api/v2/voices/v1"),
        ("DELETE", "/api/v2/voices/v1"),
        ("POST", "/api/v2/voices/v1/build"),
    ],
)
async def test_faults_and_the_request_log_cover_the_voice_routes(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    await client.post("/_sim/faults", json={"path": f"^{path}$", "status": 503})
    response = await client.request(method, path, json={"name": "x"}, headers=AUTH)
    assert response.status_code == 503
    assert response.json()["message"].startswith("Simulated fault")
    logged = (await client.get("/_sim/requests")).json()[-1]
    assert (logged["method"], logged["path"], logged["status"]) == (method, path, 503)
