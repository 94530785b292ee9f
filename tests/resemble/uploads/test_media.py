"""`voicegate.resemble.media`: telling URLs this gateway issued from foreign ones, and refusing other users'."""

from __future__ import annotations

from urllib.parse import quote, urlsplit, urlunsplit

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import Customer, create_customer
from tests.kit import samples
from tests.resemble.uploads.support import URL
from voicegate.config import Settings
from voicegate.db.models import ProviderResembleAsset
from voicegate.errors import Gone, NotFound, PayloadTooLarge
from voicegate.kit.time import utc_now
from voicegate.resemble.media import open_asset_stream, read_asset_bytes, resolve_owned_media, storage_key_of
from voicegate.storage.base import StorageBackend

WAV = samples.wav_bytes(0.25)
KEY = "stt-input/u1/2026/05/01/120000-abc.wav"


def configured(**values: object) -> Settings:
    return Settings(_env_file=None, jwt_secret=SecretStr("x" * 48), **values)  # type: ignore[call-arg,arg-type]


class TestStorageKeyOf:
    LOCAL = configured(public_base_url="https://gw.example.com")
    R2 = configured(
        storage_backend="r2",
        r2_endpoint_url="https://acct.r2.cloudflarestorage.com",
        r2_bucket="media",
        r2_public_endpoint_url="https://media-cdn.example.com",
    )
    AWS = configured(storage_backend="s3", s3_bucket="vg-media", s3_region="eu-west-1")
    MOTO = configured(storage_backend="s3", s3_bucket="vg-media", s3_endpoint_url="http://127.0.0.1:5000")

    @pytest.mark.parametrize(
        ("settings", "url"),
        [
            pytest.param(LOCAL, f"https://gw.example.com/files/{KEY}?expires=1&sig=ab", id="local"),
            pytest.param(LOCAL, f"https://GW.example.com:443/files/{KEY}", id="local-case-and-port"),
            pytest.param(R2, f"https://acct.r2.cloudflarestorage.com/media/{KEY}?X-Amz-Signature=1", id="r2-path"),
            pytest.param(R2, f"https://media.acct.r2.cloudflarestorage.com/{KEY}", id="r2-virtual-host"),
            pytest.param(R2, f"https://media-cdn.example.com/media/{KEY}?X-Amz-Expires=3600", id="r2-public"),
            pytest.param(AWS, f"https://vg-media.s3.amazonaws.com/{KEY}", id="aws-virtual-host"),
            pytest.param(AWS, f"https://vg-media.s3.eu-west-1.amazonaws.com/{KEY}", id="aws-regional"),
            pytest.param(AWS, f"https://s3.eu-west-1.amazonaws.com/vg-media/{KEY}", id="aws-path"),
            pytest.param(MOTO, f"http://127.0.0.1:5000/vg-media/{KEY}?X-Amz-Date=1", id="custom-endpoint"),
            pytest.param(LOCAL, f"https://gw.example.com/files/{quote(KEY, safe='')}", id="encoded-slashes"),
        ],
    )
    def test_recognises_links_the_gateway_hands_out(self, settings: Settings, url: str):
        assert storage_key_of(settings, url) == KEY

    @pytest.mark.parametrize(
        ("settings", "url"),
        [
            pytest.param(LOCAL, f"https://evil.example.com/files/{KEY}", id="other-host"),
            pytest.param(LOCAL, f"https://gw.example.com:8443/files/{KEY}", id="other-port"),
            pytest.param(LOCAL, f"https://gw.example.com/elsewhere/{KEY}", id="other-path"),
            pytest.param(R2, f"https://acct.r2.cloudflarestorage.com/other-bucket/{KEY}", id="other-bucket"),
            pytest.param(R2, f"https://other.acct.r2.cloudflarestorage.com/{KEY}", id="other-virtual-bucket"),
            pytest.param(AWS, f"https://someone-else.s3.amazonaws.com/{KEY}", id="other-aws-bucket"),
            pytest.param(MOTO, f"https://vg-media.s3.amazonaws.com/{KEY}", id="aws-when-endpoint-is-custom"),
            pytest.param(LOCAL, "ftp://gw.example.com/files/x", id="other-scheme"),
            pytest.param(LOCAL, "not a url", id="not-a-url"),
            pytest.param(LOCAL, "https://[::1/files/x", id="unparsable"),
        ],
    )
    def test_anything_else_is_foreign(self, settings: Settings, url: str):
        assert storage_key_of(settings, url) is None


async def _upload(client: httpx.AsyncClient, customer: Customer) -> dict[str, str]:
    response = await client.post(URL, files={"file": ("a.wav", WAV, "audio/wav")}, headers=customer.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


class TestResolveOwnedMedia:
    async def test_own_upload_link_resolves_to_its_asset(
        self, app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, settings: Settings, customer: Customer
    ):
        """The presigned link of the running backend: local `/files/...` or S3 (TEST_STORAGE=s3)."""
        uploaded = await _upload(client, customer)

        asset = await resolve_owned_media(
            session, app.state.resources.storage, settings, customer.user.id, uploaded["url"]
        )

        assert asset is not None
        assert asset.id == uploaded["asset_id"]
        assert await read_asset_bytes(app.state.resources.storage, asset, max_bytes=len(WAV)) == WAV

    async def test_expired_or_unsigned_link_of_ones_own_still_resolves(
        self, app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, settings: Settings, customer: Customer
    ):
        uploaded = await _upload(client, customer)
        bare = urlunsplit(urlsplit(uploaded["url"])._replace(query=""))

        asset = await resolve_owned_media(session, app.state.resources.storage, settings, customer.user.id, bare)

        assert asset is not None
        assert asset.id == uploaded["asset_id"]

    async def test_percent_encoded_key_resolves(
        self, app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, settings: Settings, customer: Customer
    ):
        uploaded = await _upload(client, customer)
        parts = urlsplit(uploaded["url"])
        encoded = parts._replace(path="".join(c if c == "/" else f"%{ord(c):02X}" for c in parts.path))

        asset = await resolve_owned_media(
            session, app.state.resources.storage, settings, customer.user.id, urlunsplit(encoded)
        )

        assert asset is not None
        assert asset.id == uploaded["asset_id"]

    async def test_another_users_link_is_not_found(
        self, app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, settings: Settings, customer: Customer
    ):
        uploaded = await _upload(client, customer)
        intruder = await create_customer(session)

        with pytest.raises(NotFound) as caught:
            await resolve_owned_media(session, app.state.resources.storage, settings, intruder.user.id, uploaded["url"])
        assert caught.value.detail == "Media not found"

    async def test_unknown_key_on_our_host_is_not_found_alike(
        self, app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, settings: Settings, customer: Customer
    ):
        uploaded = await _upload(client, customer)
        missing = uploaded["url"].replace(".wav", "0.wav", 1)

        with pytest.raises(NotFound) as caught:
            await resolve_owned_media(session, app.state.resources.storage, settings, customer.user.id, missing)
        assert caught.value.detail == "Media not found"

    @pytest.mark.parametrize("key", ["../../etc/passwd", "", ".hidden/x.wav"])
    async def test_invalid_key_on_our_host_is_not_found(
        self, app: FastAPI, session: AsyncSession, settings: Settings, customer: Customer, key: str
    ):
        url = f"{settings.public_base_url}/files/{key}"
        with pytest.raises(NotFound):
            await resolve_owned_media(session, app.state.resources.storage, settings, customer.user.id, url)

    async def test_expired_asset_is_gone(
        self, app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, settings: Settings, customer: Customer
    ):
        uploaded = await _upload(client, customer)
        asset = await session.get(ProviderResembleAsset, uploaded["asset_id"])
        assert asset is not None
        asset.deleted_at = utc_now()
        await session.commit()

        with pytest.raises(Gone, match="expired"):
            await resolve_owned_media(session, app.state.resources.storage, settings, customer.user.id, uploaded["url"])

    @pytest.mark.parametrize(
        "url",
        ["https://cdn.example.org/voice.wav", "http://testserver.evil.com/files/x.wav", "https://example.com/"],
    )
    async def test_foreign_url_is_none(
        self, app: FastAPI, session: AsyncSession, settings: Settings, customer: Customer, url: str
    ):
        assert await resolve_owned_media(session, app.state.resources.storage, settings, customer.user.id, url) is None


class TestReadingAssets:
    @pytest.fixture
    async def asset(
        self, client: httpx.AsyncClient, session: AsyncSession, customer: Customer
    ) -> ProviderResembleAsset:
        uploaded = await _upload(client, customer)
        found = await session.get(ProviderResembleAsset, uploaded["asset_id"])
        assert found is not None
        return found

    async def test_stream_yields_the_stored_bytes(self, app: FastAPI, asset: ProviderResembleAsset):
        stream = await open_asset_stream(app.state.resources.storage, asset)
        try:
            assert b"".join([chunk async for chunk in stream]) == WAV
        finally:
            await stream.aclose()

    async def test_reading_past_the_cap_is_413(self, app: FastAPI, asset: ProviderResembleAsset):
        with pytest.raises(PayloadTooLarge):
            await read_asset_bytes(app.state.resources.storage, asset, max_bytes=len(WAV) - 1)

    async def test_object_gone_from_storage_is_not_found(self, app: FastAPI, asset: ProviderResembleAsset):
        storage: StorageBackend = app.state.resources.storage
        await storage.delete(asset.storage_key)

        with pytest.raises(NotFound):
            await read_asset_bytes(storage, asset, max_bytes=len(WAV))
        with pytest.raises(NotFound):
            await open_asset_stream(storage, asset)
