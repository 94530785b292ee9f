"""Identities on the simulator's app API: enrollment fetches the audio, search is deterministic and account-wide,
lists are paged newest first, and there is no read of one identity."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from voicegate.simulator import close_simulator_app, create_simulator_app
from voicegate.simulator.media import png_image

from .conftest import AUTH, Peer, wav_bytes

IDENTITY = "/api/v2/identity"
OTHER = {"Authorization": "Bearer another-key"}


async def enroll(jc: httpx.AsyncClient, peer: Peer, name: str, audio: bytes) -> dict[str, Any]:
    peer.files[f"{name}.wav"] = audio
    response = await jc.post(IDENTITY, json={"name": name, "url": peer.url(f"{name}.wav")})
    assert response.status_code == 200, response.text
    return dict(response.json())


async def search(jc: httpx.AsyncClient, peer: Peer, audio: bytes, **fields: Any) -> httpx.Response:
    peer.files["probe.wav"] = audio
    return await jc.post(f"{IDENTITY}/search", json={"url": peer.url("probe.wav"), **fields})


class TestEnroll:
    async def test_simple_form_enrolls_the_fetched_voice(self, jc: httpx.AsyncClient, peer: Peer):
        body = await enroll(jc, peer, "ann", wav_bytes(1.0))
        item = body["item"]
        assert body["success"] is True
        assert set(item) == {
            "uuid", "name", "created_at", "audio_url", "visibility", "identity_type", "notes",
            "voice_profile_id", "updated_at", "project_count",
        }  # fmt: skip
        assert (item["name"], item["visibility"], item["identity_type"]) == ("ann", "team", "person")
        assert (await jc.get(item["audio_url"])).content == wav_bytes(1.0)

    async def test_signed_id_from_a_secure_upload(self, jc: httpx.AsyncClient):
        files = {"file": ("a.wav", wav_bytes(1.0), "audio/wav")}
        token = (await jc.post("/api/v2/secure_uploads", files=files)).json()["token"]
        assert (await jc.post(IDENTITY, json={"name": "ann", "signed_id": token})).status_code == 200

    async def test_multimodal_form_creates_without_enrolling(self, jc: httpx.AsyncClient, peer: Peer):
        response = await jc.post(IDENTITY, json={"identity": {"name": "brand", "identity_type": "brand"}})
        assert response.status_code == 200
        assert (response.json()["success"], response.json()["item"]["identity_type"]) == (False, "brand")
        assert (await search(jc, peer, wav_bytes(1.0), top_k=20)).json()["item"] == {}

    @pytest.mark.parametrize(
        "body",
        [
            {"name": "ann"},
            {"url": "http://peer.test/files/x.wav"},
            {"name": "", "url": "http://peer.test/files/x.wav"},
            {"name": "x" * 121, "url": "http://peer.test/files/x.wav"},
            {"name": "ann", "url": "ftp://peer.test/x.wav"},
            {"name": "ann", "url": "http://peer.test/files/missing.wav"},
            {"name": "ann", "signed_id": "not-a-token"},
        ],
    )
    async def test_without_usable_audio_is_422(self, jc: httpx.AsyncClient, body: dict[str, Any]):
        assert (await jc.post(IDENTITY, json=body)).status_code == 422

    async def test_non_audio_is_422(self, jc: httpx.AsyncClient, peer: Peer):
        peer.files["face.png"] = png_image()
        response = await jc.post(IDENTITY, json={"name": "ann", "url": peer.url("face.png")})
        assert response.status_code == 422


class TestSearch:
    async def test_identical_audio_is_100_and_others_rank_below(self, jc: httpx.AsyncClient, peer: Peer):
        ann = (await enroll(jc, peer, "ann", wav_bytes(1.0)))["item"]["uuid"]
        bob = (await enroll(jc, peer, "bob", wav_bytes(1.5)))["item"]["uuid"]
        body = (await search(jc, peer, wav_bytes(1.0), top_k=5)).json()
        assert (body["success"], body["modality"]) == (True, "audio")
        assert list(body["item"]) == [ann, bob]
        assert body["item"][ann] == {"name": "ann", "distance": 100.0}
        assert 0 <= body["item"][bob]["distance"] < 100

    async def test_deterministic_and_top_k_defaults_to_one(self, jc: httpx.AsyncClient, peer: Peer):
        for n in range(3):
            await enroll(jc, peer, f"v{n}", wav_bytes(1.0 + n / 4))
        first = (await search(jc, peer, wav_bytes(2.0), top_k=3)).json()
        again = (await search(jc, peer, wav_bytes(2.0), top_k=3)).json()
        assert first == again
        assert list((await search(jc, peer, wav_bytes(2.0))).json()["item"]) == list(first["item"])[:1]

    @pytest.mark.parametrize(
        "fields", [{"top_k": 0}, {"top_k": 21}, {"top_k": 1.5}, {"modality": "video"}, {"modality": "smell"}]
    )
    async def test_bad_fields_are_422(self, jc: httpx.AsyncClient, peer: Peer, fields: dict[str, Any]):
        assert (await search(jc, peer, wav_bytes(1.0), **fields)).status_code == 422

    async def test_an_image_matches_no_voice(self, jc: httpx.AsyncClient, peer: Peer):
        await enroll(jc, peer, "ann", wav_bytes(1.0))
        peer.files["face.png"] = png_image()
        response = await jc.post(f"{IDENTITY}/search", json={"url": peer.url("face.png")})
        assert response.json() == {"success": True, "modality": "image", "item": {}}

    async def test_an_account_sees_only_its_own_identities(self, outbound: httpx.AsyncClient, peer: Peer):
        app = create_simulator_app(None, outbound=outbound)  # any key is an account of its own
        transport = httpx.ASGITransport(app=app)
        try:
            async with (
                httpx.AsyncClient(transport=transport, base_url="http://sim", headers=AUTH) as mine,
                httpx.AsyncClient(transport=transport, base_url="http://sim", headers=OTHER) as theirs,
            ):
                await enroll(mine, peer, "ann", wav_bytes(1.0))
                assert (await search(mine, peer, wav_bytes(1.0))).json()["item"] != {}
                assert (await search(theirs, peer, wav_bytes(1.0))).json()["item"] == {}
                assert (await theirs.get(IDENTITY)).json()["items"] == []
        finally:
            await close_simulator_app(app)


class TestListDelete:
    async def test_paged_newest_first_and_searchable_by_name(self, jc: httpx.AsyncClient, peer: Peer):
        uuids = [(await enroll(jc, peer, f"n{n}", wav_bytes(1.0 + n / 10)))["item"]["uuid"] for n in range(11)]
        first = (await jc.get(IDENTITY, params={"page": 1, "page_size": 10})).json()
        second = (await jc.get(IDENTITY, params={"page": 2, "page_size": 10})).json()
        assert (first["total_count"], first["num_pages"]) == (11, 2)
        assert [item["uuid"] for item in first["items"] + second["items"]] == uuids[::-1]
        named = (await jc.get(IDENTITY, params={"search": "N1"})).json()
        assert sorted(item["name"] for item in named["items"]) == ["n1", "n10"]

    async def test_delete_then_404_and_no_read_by_id(self, jc: httpx.AsyncClient, peer: Peer):
        uuid = (await enroll(jc, peer, "ann", wav_bytes(1.0)))["item"]["uuid"]
        assert (await jc.get(f"{IDENTITY}/{uuid}")).status_code in (404, 405)
        assert (await jc.delete(f"{IDENTITY}/{uuid}")).json() == {"success": True}
        assert (await jc.delete(f"{IDENTITY}/{uuid}")).status_code == 404
        assert (await search(jc, peer, wav_bytes(1.0))).json()["item"] == {}
