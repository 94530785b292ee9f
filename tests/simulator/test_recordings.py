"""A custom voice's training recordings: multipart create, the M/A list shape, get, update, delete."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from voicegate.simulator import SEEDED_VOICES

from .conftest import AUTH, wav_bytes
from .media_samples import JPEG

VOICES = "/api/v2/voices"
RECORDING_FIELDS = {
    "uuid",
    "name",
    "text",
    "emotion",
    "fill",
    "is_active",
    "audio_src",
    "metrics",
    "created_at",
    "updated_at",
}
FIELDS = {"name": "take 1", "text": "The quick brown fox.", "emotion": "neutral", "is_active": "true"}


@pytest.fixture
async def voice(client: httpx.AsyncClient) -> str:
    response = await client.post(VOICES, json={"name": "Narrator"}, headers=AUTH)
    uuid: str = response.json()["item"]["uuid"]
    return uuid


async def upload(client: httpx.AsyncClient, voice: str, blob: bytes | None = None, **fields: str) -> httpx.Response:
    return await client.post(
        f"{VOICES}/{voice}/recordings",
        files={"file": ("take.wav", wav_bytes(2.0) if blob is None else blob)},
        data={**FIELDS, **fields},
        headers=AUTH,
    )


async def created(client: httpx.AsyncClient, voice: str, **fields: str) -> dict[str, Any]:
    response = await upload(client, voice, **fields)
    assert response.status_code == 200, response.text
    item: dict[str, Any] = response.json()["item"]
    return item


class TestCreate:
    async def test_item_shape_and_stored_audio(self, client: httpx.AsyncClient, voice: str) -> None:
        blob = wav_bytes(2.0)
        response = await upload(client, voice, blob, fill="false")
        assert response.status_code == 200
        body = response.json()
        assert body["success"] is True
        item = body["item"]
        assert set(item) == RECORDING_FIELDS
        assert (item["name"], item["text"], item["emotion"]) == ("take 1", "The quick brown fox.", "neutral")
        assert (item["is_active"], item["fill"]) == (True, False)
        assert set(item["metrics"]) == {"signal_to_noise_ratio", "loudness_grade", "resemble_sample_score"}
        download = await client.get(item["audio_src"])  # a signed link: no API key
        assert download.status_code == 200
        assert download.content == blob
        assert download.headers["content-type"] == "audio/wav"

    async def test_metrics_depend_only_on_the_audio(self, client: httpx.AsyncClient, voice: str) -> None:
        first = await created(client, voice)
        again = await created(client, voice, name="take 2")
        other = await upload(client, voice, wav_bytes(3.0), name="take 3")
        assert first["metrics"] == again["metrics"]
        assert other.json()["item"]["metrics"] != first["metrics"]
        assert 0 <= first["metrics"]["resemble_sample_score"] <= 1

    async def test_fill_defaults_to_false_and_flags_accept_strings(self, client: httpx.AsyncClient, voice: str) -> None:
        item = await created(client, voice, is_active="false")
        assert (item["is_active"], item["fill"]) == (False, False)
        assert (await created(client, voice, name="b", fill="true"))["fill"] is True

    @pytest.mark.parametrize("field", ["name", "text", "emotion", "is_active"])
    async def test_every_field_but_fill_is_required(self, client: httpx.AsyncClient, voice: str, field: str) -> None:
        data = {key: value for key, value in FIELDS.items() if key != field}
        response = await client.post(
            f"{VOICES}/{voice}/recordings", files={"file": ("a.wav", wav_bytes(1.0))}, data=data, headers=AUTH
        )
        assert response.status_code == 422
        assert field in response.json()["errors"]

    async def test_the_file_is_required(self, client: httpx.AsyncClient, voice: str) -> None:
        response = await client.post(f"{VOICES}/{voice}/recordings", data=FIELDS, headers=AUTH)
        assert response.status_code in {400, 422}
        assert "file" in response.json()["errors"]

    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            ({"name": "n" * 257}, "name"),
            ({"text": "t" * 1025}, "text"),
            ({"emotion": "e" * 65}, "emotion"),
            ({"is_active": "maybe"}, "is_active"),
            ({"fill": "sometimes"}, "fill"),
        ],
    )
    async def test_field_bounds(
        self, client: httpx.AsyncClient, voice: str, fields: dict[str, str], field: str
    ) -> None:
        response = await upload(client, voice, **fields)
        assert response.status_code == 422
        assert field in response.json()["errors"]

    async def test_limits_are_inclusive(self, client: httpx.AsyncClient, voice: str) -> None:
        item = await created(client, voice, name="n" * 256, text="t" * 1024, emotion="e" * 64)
        assert len(item["text"]) == 1024

    async def test_names_are_unique_per_voice(self, client: httpx.AsyncClient, voice: str) -> None:
        await created(client, voice)
        duplicate = await upload(client, voice)
        assert duplicate.status_code == 422
        assert "has already been taken" in duplicate.json()["errors"]["name"]
        other = (await client.post(VOICES, json={"name": "Other"}, headers=AUTH)).json()["item"]["uuid"]
        assert (await upload(client, other)).status_code == 200

    @pytest.mark.parametrize(
        ("blob", "message"),
        [
            (b"just some text, not audio", "Unsupported media format"),
            (b"RIFF\x10\x00\x00\x00WAVEjunk", "Could not read wav"),
            (JPEG, "must be audio"),
            (b"", "must not be empty"),
        ],
    )
    async def test_unreadable_files_are_422(
        self, client: httpx.AsyncClient, voice: str, blob: bytes, message: str
    ) -> None:
        response = await upload(client, voice, blob)
        assert response.status_code == 422
        assert any(message in text for text in response.json()["errors"]["file"])

    async def test_silent_audio_is_422(self, client: httpx.AsyncClient, voice: str) -> None:
        silent = bytearray(wav_bytes(1.0))
        silent[44:] = bytes(len(silent) - 44)  # zero every PCM sample after the canonical 44-byte header
        response = await upload(client, voice, bytes(silent))
        assert response.status_code == 422
        assert response.json()["errors"]["file"] == ["is silent"]

    async def test_the_body_must_be_multipart(self, client: httpx.AsyncClient, voice: str) -> None:
        response = await client.post(f"{VOICES}/{voice}/recordings", json=FIELDS, headers=AUTH)
        assert response.status_code == 400

    async def test_library_voices_take_no_recordings(self, client: httpx.AsyncClient) -> None:
        library = SEEDED_VOICES[0]["uuid"]
        assert (await upload(client, library)).status_code == 403
        assert (await upload(client, "deadbeef")).status_code == 404


class TestReadUpdateDelete:
    async def test_list_uses_the_paged_shape(self, client: httpx.AsyncClient, voice: str) -> None:
        names = [f"take {index:02}" for index in range(12)]
        for name in names:
            await created(client, voice, name=name)
        first = (await client.get(f"{VOICES}/{voice}/recordings", headers=AUTH)).json()
        assert set(first) == {"success", "page", "total_results", "page_count", "items"}
        assert (first["page"], first["total_results"], first["page_count"]) == (1, 12, 2)
        second = (await client.get(f"{VOICES}/{voice}/recordings", params={"page": 2}, headers=AUTH)).json()
        assert [item["name"] for item in first["items"] + second["items"]] == names
        bad = await client.get(f"{VOICES}/{voice}/recordings", params={"page": 0}, headers=AUTH)
        assert bad.status_code == 400

    async def test_get_returns_the_created_item(self, client: httpx.AsyncClient, voice: str) -> None:
        item = await created(client, voice)
        response = await client.get(f"{VOICES}/{voice}/recordings/{item['uuid']}", headers=AUTH)
        assert response.json() == {"success": True, "item": item}

    @pytest.mark.parametrize("method", ["PATCH", "PUT"])
    async def test_update_changes_the_given_fields(self, client: httpx.AsyncClient, voice: str, method: str) -> None:
        item = await created(client, voice)
        response = await client.request(
            method,
            f"{VOICES}/{voice}/recordings/{item['uuid']}",
            json={"text": "New words.", "is_active": False, "fill": True},
            headers=AUTH,
        )
        assert response.status_code == 200
        updated = response.json()["item"]
        assert (updated["text"], updated["is_active"], updated["fill"]) == ("New words.", False, True)
        assert (updated["name"], updated["emotion"], updated["audio_src"]) == ("take 1", "neutral", item["audio_src"])
        got = await client.get(f"{VOICES}/{voice}/recordings/{item['uuid']}", headers=AUTH)
        assert got.json()["item"] == updated

    async def test_update_validation(self, client: httpx.AsyncClient, voice: str) -> None:
        item = await created(client, voice)
        await created(client, voice, name="other")
        path = f"{VOICES}/{voice}/recordings/{item['uuid']}"
        for body in ({"name": "other"}, {"name": " "}, {"is_active": "true"}, {"emotion": "e" * 65}):
            response = await client.patch(path, json=body, headers=AUTH)
            assert response.status_code == 422, body
        assert (await client.patch(path, json={"name": "take 1"}, headers=AUTH)).status_code == 200  # its own name
        assert (await client.put(path, content=b"nope", headers=AUTH)).status_code == 400

    async def test_delete(self, client: httpx.AsyncClient, voice: str) -> None:
        item = await created(client, voice)
        path = f"{VOICES}/{voice}/recordings/{item['uuid']}"
        response = await client.delete(path, headers=AUTH)
        assert response.status_code == 200
        assert response.json()["success"] is True
        assert (await client.get(path, headers=AUTH)).status_code == 404
        assert (await client.delete(path, headers=AUTH)).status_code == 404

    async def test_deleting_the_voice_deletes_its_recordings(self, client: httpx.AsyncClient, voice: str) -> None:
        item = await created(client, voice)
        await client.delete(f"{VOICES}/{voice}", headers=AUTH)
        assert (await client.get(f"{VOICES}/{voice}/recordings", headers=AUTH)).status_code == 404
        assert (await client.get(f"{VOICES}/{voice}/recordings/{item['uuid']}", headers=AUTH)).status_code == 404

    @pytest.mark.parametrize("method", ["GET", "PATCH", "PUT", "DELETE"])
    async def test_unknown_voice_or_recording_is_404(self, client: httpx.AsyncClient, voice: str, method: str) -> None:
        for path in (f"{VOICES}/deadbeef/recordings/r1", f"{VOICES}/{voice}/recordings/r1"):
            response = await client.request(method, path, json={}, headers=AUTH)
            assert response.status_code == 404
            assert response.json()["success"] is False
        assert (await client.get(f"{VOICES}/deadbeef/recordings", headers=AUTH)).status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v2/voices/v1/recordings"),
        ("POST", "/api/v2/voices/v1/recordings"),
        ("GET", "/api/v2/voices/v1/recordings/r1"),
        ("PATCH", "/api/v2/voices/v1/recordings/r1"),
        ("PUT", "/api/v2/voices/v1/recordings/r1"),
        ("DELETE", "/api/v2/voices/v1/recordings/r1"),
    ],
)
async def test_faults_cover_the_recording_routes(client: httpx.AsyncClient, method: str, path: str) -> None:
    await client.post("/_sim/faults", json={"path": f"^{path}$", "status": 502})
    response = await client.request(method, path, json={}, headers=AUTH)
    assert response.status_code == 502
    assert (await client.get("/_sim/requests")).json()[-1]["status"] == 502
