from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, Response
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.downloads import download
from tests.factories import Customer, create_customer
from tests.resemble.jobs.helpers import WAV_2S, gateway_reaching, upload
from tests.resemble.voices.conftest import VOICES, add_recording, create_voice, upstream_requests
from voicegate.config import Settings
from voicegate.db.models import ProviderResembleAsset, ProviderResembleResource


class TestCreate:
    async def test_a_voice_clone_upload_is_sent_as_the_file_and_kept_once(
        self, client: httpx.AsyncClient, session: AsyncSession, customer: Customer, simulator: httpx.AsyncClient
    ):
        voice = await create_voice(client, customer)
        uploaded = await upload(client, customer, purpose="voice_clone", filename="take.wav")
        created = await add_recording(
            client, customer, voice["uuid"], url=uploaded["url"], emotion="happy", is_active=False
        )
        item = created["item"]  # Resemble's item, made from the form fields it was sent
        assert (item["name"], item["emotion"], item["is_active"]) == ("take-1", "happy", False)
        assert item["text"] == "The quick brown fox jumps over the lazy dog."
        received = await simulator.get(httpx.URL(item["audio_src"]).raw_path.decode())
        assert received.content == WAV_2S  # the stored file's very bytes went to Resemble
        assert created["stored_audio"]["asset_id"] == uploaded["asset_id"]  # no second copy of a permanent file
        assert await download(client, created["stored_audio"]["audio_url"]) == WAV_2S

        sent = [r for r in await upstream_requests(simulator, "/recordings") if r["method"] == "POST"][-1]
        assert "multipart/form-data" in sent["headers"].get("content-type", "")
        row = await session.scalar(
            select(ProviderResembleResource).where(ProviderResembleResource.upstream_id == item["uuid"])
        )
        assert row is not None
        assert (row.kind, row.user_id, row.asset_id) == ("recording", customer.user.id, uploaded["asset_id"])

    async def test_audio_url_alias_and_other_assets_are_copied_under_voice_recordings(
        self, client: httpx.AsyncClient, session: AsyncSession, customer: Customer
    ):
        voice = await create_voice(client, customer)
        uploaded = await upload(client, customer, purpose=None, filename="plain.wav")
        created = await add_recording(client, customer, voice["uuid"], audio_url=uploaded["url"])
        asset = await session.get(ProviderResembleAsset, created["stored_audio"]["asset_id"])
        assert asset is not None
        assert asset.id != uploaded["asset_id"]
        assert asset.storage_key.startswith(f"voice-recordings/{customer.user.id}/")
        assert asset.expires_at is None

    async def test_another_users_upload_is_404_and_nothing_is_created(
        self,
        client: httpx.AsyncClient,
        session: AsyncSession,
        customer: Customer,
        other: Customer,
        simulator: httpx.AsyncClient,
    ):
        voice = await create_voice(client, customer)
        theirs = await upload(client, other, purpose="voice_clone")
        fields = {"url": theirs["url"], "name": "stolen", "text": "hello"}
        response = await client.post(
            f"{VOICES}/{voice['uuid']}/recordings", json={"fields": fields}, headers=customer.headers
        )
        assert response.status_code == 404
        assert await upstream_requests(simulator, "/recordings") == []
        count = await session.scalar(
            select(func.count())
            .select_from(ProviderResembleResource)
            .where(ProviderResembleResource.kind == "recording")
        )
        assert count == 0

    @pytest.mark.parametrize(
        ("fields", "status"),
        [
            ({"url": "http://127.0.0.1/x.wav", "name": "n", "text": "t"}, 422),  # the SSRF guard
            ({"url": "file:///etc/passwd", "name": "n", "text": "t"}, 422),
            ({"name": "n", "text": "t"}, 422),
            ({"url": "https://example.com/a.wav", "name": "", "text": "t"}, 422),
            ({"url": "https://example.com/a.wav", "name": "n", "text": "t", "colour": "red"}, 422),
        ],
    )
    async def test_bad_fields_are_refused_before_upstream(
        self, client: httpx.AsyncClient, customer: Customer, simulator: httpx.AsyncClient, fields: dict, status: int
    ):
        voice = await create_voice(client, customer)
        response = await client.post(
            f"{VOICES}/{voice['uuid']}/recordings", json={"fields": fields}, headers=customer.headers
        )
        assert response.status_code == status, response.text
        assert await upstream_requests(simulator, "/recordings") == []

    async def test_a_file_that_is_not_audio_is_415(self, client: httpx.AsyncClient, customer: Customer):
        voice = await create_voice(client, customer)
        png = b"\x89PNG\r\n\x1a\n" + bytes(200)
        uploaded = await upload(
            client, customer, data=png, purpose="voice_clone", filename="x.png", content_type="image/png"
        )
        fields = {"url": uploaded["url"], "name": "n", "text": "t"}
        response = await client.post(
            f"{VOICES}/{voice['uuid']}/recordings", json={"fields": fields}, headers=customer.headers
        )
        assert response.status_code == 415


class TestReadUpdateDelete:
    async def test_get_put_list_delete(
        self, client: httpx.AsyncClient, customer: Customer, simulator: httpx.AsyncClient
    ):
        voice = await create_voice(client, customer)
        created = await add_recording(client, customer, voice["uuid"])
        path = f"{VOICES}/{voice['uuid']}/recordings/{created['item']['uuid']}"

        got = (await client.get(path, headers=customer.headers)).json()
        assert got["item"]["uuid"] == created["item"]["uuid"]
        assert got["stored_audio"]["asset_id"] == created["stored_audio"]["asset_id"]

        changed = await client.put(
            path, json={"fields": {"text": "New words", "is_active": False}}, headers=customer.headers
        )
        assert changed.status_code == 200, changed.text
        assert (changed.json()["item"]["text"], changed.json()["item"]["is_active"]) == ("New words", False)
        sent = [r for r in await upstream_requests(simulator, "/recordings/") if r["method"] in ("PATCH", "PUT")][-1]
        assert sent["json"] == {"text": "New words", "is_active": False}

        empty = await client.put(path, json={"fields": {}}, headers=customer.headers)
        assert empty.status_code == 422

        listing = (await client.get(f"{VOICES}/{voice['uuid']}/recordings", headers=customer.headers)).json()
        assert [item["uuid"] for item in listing["items"]] == [created["item"]["uuid"]]

        assert (await client.delete(path, headers=customer.headers)).status_code == 200
        assert (await client.get(path, headers=customer.headers)).status_code == 404

    async def test_a_recording_is_found_only_under_its_own_voice(self, client: httpx.AsyncClient, customer: Customer):
        first = await create_voice(client, customer, name="One")
        second = await create_voice(client, customer, name="Two")
        created = await add_recording(client, customer, first["uuid"])
        wrong = f"{VOICES}/{second['uuid']}/recordings/{created['item']['uuid']}"
        assert (await client.get(wrong, headers=customer.headers)).status_code == 404


@pytest.fixture
async def open_network(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """A gateway allowed to reach private addresses, whose outbound requests land on a little media host."""
    media = FastAPI()

    @media.get("/take.wav")
    async def take() -> Response:
        return Response(WAV_2S, media_type="audio/wav")

    async with gateway_reaching(settings, media) as reached:
        yield reached


async def test_an_outside_url_is_fetched_and_kept_permanently(
    open_network: tuple[FastAPI, httpx.AsyncClient], session: AsyncSession
):
    app, http = open_network
    customer = await create_customer(session, credits="5.00")
    voice = await create_voice(http, customer)
    created = await add_recording(http, customer, voice["uuid"], url="http://127.0.0.1:9/take.wav")
    asset = await session.get(ProviderResembleAsset, created["stored_audio"]["asset_id"])
    assert asset is not None
    assert asset.storage_key.startswith(f"voice-recordings/{customer.user.id}/")
    assert await app.state.resources.storage.get_bytes(asset.storage_key) == WAV_2S


class TestOwnershipWriteFails:
    """The database refuses the ownership row after Resemble made the object: nothing unowned is left anywhere."""

    async def test_a_voice_is_deleted_upstream_again(
        self, client: httpx.AsyncClient, customer: Customer, simulator: httpx.AsyncClient, ownership_writes_fail: None
    ):
        response = await client.post(VOICES, json={"name": "Ada", "consent_text": "I agree."}, headers=customer.headers)
        assert response.status_code == 503
        calls = await upstream_requests(simulator, "/voices")
        created = next(r for r in calls if r["method"] == "POST")
        assert created
        assert [r["method"] for r in calls if r["method"] == "DELETE"] == ["DELETE"]

    async def test_a_recording_and_its_copy_are_removed_again(
        self,
        client: httpx.AsyncClient,
        session: AsyncSession,
        customer: Customer,
        simulator: httpx.AsyncClient,
        request: pytest.FixtureRequest,
    ):
        voice = await create_voice(client, customer)
        uploaded = await upload(client, customer, purpose=None, filename="plain.wav")
        request.getfixturevalue("ownership_writes_fail")
        fields = {"url": uploaded["url"], "name": "take", "text": "Hello there."}
        response = await client.post(
            f"{VOICES}/{voice['uuid']}/recordings", json={"fields": fields}, headers=customer.headers
        )
        assert response.status_code == 503
        deleted = [r for r in await upstream_requests(simulator, "/recordings/") if r["method"] == "DELETE"]
        assert len(deleted) == 1
        kept = await session.scalar(
            select(func.count())
            .select_from(ProviderResembleAsset)
            .where(ProviderResembleAsset.asset_class == "voice_recordings")
        )
        assert kept == 0
