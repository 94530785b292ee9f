"""`POST /api/v1/resemble/uploads` through HTTP, on whichever stack the suite runs (local or S3 storage)."""

from __future__ import annotations

import hashlib
import io
import tracemalloc
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import httpx
import pytest
import requests
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.downloads import download
from tests.factories import Customer, create_customer
from tests.kit import samples
from tests.resemble.uploads.support import (
    BOUNDARY,
    URL,
    FailingStorage,
    RecordingStorage,
    closing,
    field,
    file,
    multipart,
    part_header,
    storage_replaced,
    stored_for_user,
)
from voicegate.app import create_app
from voicegate.config import Settings
from voicegate.db.models import ProviderResembleAsset
from voicegate.kit.time import utc_now

MiB = 1024 * 1024
WAV = samples.wav_bytes(0.5)
MULTIPART = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


def parse_z(value: str) -> datetime:
    assert value.endswith("Z"), value
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def assets_of(session: AsyncSession, user_id: str) -> list[ProviderResembleAsset]:
    return list(await session.scalars(select(ProviderResembleAsset).where(ProviderResembleAsset.user_id == user_id)))


async def count_assets(session: AsyncSession, user_id: str) -> int:
    statement = select(func.count()).select_from(ProviderResembleAsset)
    return int(await session.scalar(statement.where(ProviderResembleAsset.user_id == user_id)) or 0)


async def upload(
    client: httpx.AsyncClient, customer: Customer, data: bytes = WAV, purpose: str | None = None, name: str = "a.wav"
) -> httpx.Response:
    form = None if purpose is None else {"purpose": purpose}
    return await client.post(URL, files={"file": (name, data, "audio/wav")}, data=form, headers=customer.headers)


async def _stack(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
            yield app, http


class TestPurposes:
    @pytest.mark.parametrize(
        ("purpose", "prefix", "asset_class", "ttl_days"),
        [
            pytest.param(None, "uploads/", "uploads", 30, id="absent"),
            pytest.param("", "uploads/", "uploads", 30, id="empty"),
            pytest.param("voice_clone", "voice-recordings/", "voice_recordings", None, id="voice_clone"),
            pytest.param("stt_input", "stt-input/", "stt_input", 30, id="stt_input"),
            pytest.param("watermark_input", "watermark/", "watermark", 7, id="watermark_input"),
            pytest.param("audio_job_input", "audio-jobs/", "audio_jobs", 7, id="audio_job_input"),
        ],
    )
    async def test_lands_under_its_prefix_with_its_retention(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        session: AsyncSession,
        customer: Customer,
        purpose: str | None,
        prefix: str,
        asset_class: str,
        ttl_days: int | None,
    ):
        response = await upload(client, customer, purpose=purpose)

        assert response.status_code == 201, response.text
        body = response.json()
        assert body["asset_class"] == asset_class
        [asset] = await assets_of(session, customer.user.id)
        assert asset.id == body["asset_id"]
        assert asset.storage_key.startswith(f"{prefix}{customer.user.id}/")
        assert asset.storage_key.endswith(f"-{asset.request_id}.wav")
        assert (asset.asset_class, asset.content_type, asset.size_bytes) == (asset_class, "audio/wav", len(WAV))
        assert asset.storage_backend == app.state.resources.storage.name
        if ttl_days is None:
            assert body["expires_at"] is None
            assert asset.expires_at is None
        else:
            assert asset.expires_at is not None
            assert parse_z(body["expires_at"]) == asset.expires_at
            assert abs(asset.expires_at - (utc_now() + timedelta(days=ttl_days))) < timedelta(minutes=1)
        assert stored_for_user(app, customer.user.id) == [asset.storage_key]
        assert await download(client, body["url"]) == WAV


class TestResponse:
    async def test_describes_the_stored_file(self, client: httpx.AsyncClient, settings: Settings, customer: Customer):
        body = (await upload(client, customer, purpose="stt_input")).json()

        assert set(body) == {
            "asset_id",
            "url",
            "url_expires_at",
            "expires_at",
            "asset_expired",
            "asset_class",
            "size_bytes",
            "file_name",
            "extension",
            "file_type",
        }
        assert (body["size_bytes"], body["file_name"], body["extension"], body["file_type"]) == (
            len(WAV),
            "a.wav",
            "wav",
            "audio/wav",
        )
        link_ttl = parse_z(body["url_expires_at"]) - utc_now()
        assert timedelta(seconds=settings.presign_ttl_s - 60) < link_ttl <= timedelta(seconds=settings.presign_ttl_s)

    async def test_type_and_extension_come_from_the_content_not_the_name(
        self, client: httpx.AsyncClient, session: AsyncSession, customer: Customer
    ):
        mp3 = samples.mp3_bytes(0.5)
        body = (await upload(client, customer, data=mp3, name="take-1.wav")).json()

        assert (body["extension"], body["file_type"], body["file_name"]) == ("mp3", "audio/mpeg", "take-1.wav")
        [asset] = await assets_of(session, customer.user.id)
        assert asset.storage_key.endswith(".mp3")
        assert await download(client, body["url"]) == mp3

    @pytest.mark.parametrize(
        ("sent", "kept"),
        [
            pytest.param("../../etc/évian.wav", "évian.wav", id="directories"),
            pytest.param("C:\\Users\\me\\voice.wav", "voice.wav", id="windows-path"),
            pytest.param("", "upload.wav", id="empty"),
            pytest.param("日本語 voice.wav", "日本語 voice.wav", id="utf-8"),
            pytest.param("n" * 300 + ".wav", "n" * 251 + ".wav", id="too-long"),
        ],
    )
    async def test_keeps_only_the_base_file_name(
        self, client: httpx.AsyncClient, customer: Customer, sent: str, kept: str
    ):
        response = await upload(client, customer, name=sent)
        assert response.json()["file_name"] == kept

    @pytest.mark.parametrize(
        ("data", "extension"),
        [
            pytest.param(samples.PNG, "png", id="image"),
            pytest.param(samples.mp4_bytes(brand=b"isom"), "mp4", id="video"),
            pytest.param(samples.flac_bytes(), "flac", id="flac"),
        ],
    )
    async def test_accepts_video_and_images(
        self, client: httpx.AsyncClient, customer: Customer, data: bytes, extension: str
    ):
        response = await upload(client, customer, data=data, name="x")
        assert response.status_code == 201, response.text
        assert response.json()["extension"] == extension


class TestGetUpload:
    async def test_answers_the_upload_with_a_fresh_link(self, client: httpx.AsyncClient, customer: Customer):
        created = (await upload(client, customer, purpose="stt_input")).json()
        response = await client.get(f"{URL}/{created['asset_id']}", headers=customer.headers)
        assert response.status_code == 200
        body = response.json()
        assert {k: v for k, v in body.items() if k not in ("url", "url_expires_at")} == {
            k: v for k, v in created.items() if k not in ("url", "url_expires_at")
        }
        assert body["asset_expired"] is False
        assert await download(client, body["url"]) == WAV

    async def test_someone_elses_or_an_unknown_upload_is_not_found(
        self, client: httpx.AsyncClient, session: AsyncSession, customer: Customer
    ):
        created = (await upload(client, customer)).json()
        stranger = await create_customer(session)
        for asset_id, who in ((created["asset_id"], stranger), ("nope", customer)):
            response = await client.get(f"{URL}/{asset_id}", headers=who.headers)
            assert response.status_code == 404
            assert response.json() == {"detail": "Upload not found"}


class TestSdkWireFormat:
    async def test_body_encoded_like_the_sdk_does_is_accepted(
        self, client: httpx.AsyncClient, session: AsyncSession, customer: Customer
    ):
        """indoxhub posts with `requests` (`data={"purpose": ...}, files={"file": f}`): encoded here the same way."""
        prepared = requests.Request(
            "POST", "http://testserver" + URL, data={"purpose": "voice_clone"}, files={"file": io.BytesIO(WAV)}
        ).prepare()
        assert isinstance(prepared.body, bytes)

        response = await client.post(
            URL, content=prepared.body, headers={"Content-Type": prepared.headers["Content-Type"], **customer.headers}
        )

        assert response.status_code == 201, response.text
        assert response.json()["asset_class"] == "voice_recordings"
        assert response.json()["file_name"] == "file"  # requests names an unnamed file object after the field


class TestPurposeAfterFile:
    """curl's `-F file=@x -F purpose=y` order: the file is streamed first, then moved under the purpose's prefix."""

    async def test_file_is_moved_under_the_later_purpose(
        self, app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, customer: Customer
    ):
        body, headers = multipart([file(WAV), field("purpose", "voice_clone")])
        response = await client.post(URL, content=body, headers={**headers, **customer.headers})

        assert response.status_code == 201, response.text
        assert response.json()["asset_class"] == "voice_recordings"
        assert response.json()["expires_at"] is None
        [asset] = await assets_of(session, customer.user.id)
        assert asset.storage_key.startswith(f"voice-recordings/{customer.user.id}/")
        assert stored_for_user(app, customer.user.id) == [asset.storage_key]
        assert await download(client, response.json()["url"]) == WAV

    async def test_a_later_unknown_purpose_leaves_nothing_behind(
        self, app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, customer: Customer
    ):
        body, headers = multipart([file(WAV), field("purpose", "forever")])
        response = await client.post(URL, content=body, headers={**headers, **customer.headers})

        assert response.status_code == 422
        assert "voice_clone" in response.json()["detail"]
        assert stored_for_user(app, customer.user.id) == []
        assert await count_assets(session, customer.user.id) == 0

    async def test_purpose_sent_twice_is_refused(self, app: FastAPI, client: httpx.AsyncClient, customer: Customer):
        body, headers = multipart([field("purpose", "stt_input"), file(WAV), field("purpose", "voice_clone")])
        response = await client.post(URL, content=body, headers={**headers, **customer.headers})

        assert response.status_code == 422
        assert stored_for_user(app, customer.user.id) == []


class TestRefusals:
    async def test_unknown_purpose_names_the_allowed_values(self, client: httpx.AsyncClient, customer: Customer):
        response = await upload(client, customer, purpose="forever")

        assert response.status_code == 422
        for allowed in ("voice_clone", "stt_input", "watermark_input", "audio_job_input"):
            assert allowed in response.json()["detail"]

    async def test_text_renamed_to_wav_is_unsupported_media(
        self, app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, customer: Customer
    ):
        response = await upload(client, customer, data=b"hello, this is not audio\n" * 20, name="voice.wav")

        assert response.status_code == 415
        assert "detail" in response.json()
        assert stored_for_user(app, customer.user.id) == []
        assert await count_assets(session, customer.user.id) == 0

    @pytest.mark.parametrize(
        "parts",
        [
            pytest.param([field("purpose", "stt_input")], id="no-file-part"),
            pytest.param([], id="no-parts"),
            pytest.param([file(b"")], id="empty-file"),
            pytest.param([file(WAV), file(WAV)], id="two-files"),
        ],
    )
    async def test_form_without_exactly_one_file_is_422(
        self, app: FastAPI, client: httpx.AsyncClient, customer: Customer, parts: list
    ):
        body, headers = multipart(parts)
        response = await client.post(URL, content=body, headers={**headers, **customer.headers})

        assert response.status_code == 422, response.text
        assert stored_for_user(app, customer.user.id) == []

    @pytest.mark.parametrize(
        ("content", "content_type"),
        [
            pytest.param(b'{"file": "x"}', "application/json", id="json"),
            pytest.param(WAV, "audio/wav", id="raw-audio"),
            pytest.param(WAV, "multipart/form-data", id="no-boundary"),
            pytest.param(part_header("file", "a.wav") + WAV, MULTIPART["Content-Type"], id="truncated"),
            pytest.param(b"garbage without boundaries" * 10, MULTIPART["Content-Type"], id="garbage"),
            pytest.param(
                part_header("file", "a.wav").replace(b"\r\n\r\n", b"\r\nbroken header line\r\n\r\n") + WAV + closing(),
                MULTIPART["Content-Type"],
                id="bad-part-header",
            ),
        ],
    )
    async def test_malformed_body_is_422_never_500(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        customer: Customer,
        content: bytes,
        content_type: str,
    ):
        response = await client.post(URL, content=content, headers={"Content-Type": content_type, **customer.headers})

        assert response.status_code == 422, response.text
        assert "detail" in response.json()
        assert stored_for_user(app, customer.user.id) == []

    async def test_needs_credentials(self, client: httpx.AsyncClient):
        response = await client.post(URL, files={"file": ("a.wav", WAV, "audio/wav")})
        assert response.status_code == 401


class TestSizeLimit:
    LIMIT = 4096

    @pytest.fixture
    async def small(self, settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
        async for pair in _stack(settings.model_copy(update={"upload_max_bytes": self.LIMIT})):
            yield pair

    async def test_declared_length_over_the_limit_is_refused_before_reading(
        self, small: tuple[FastAPI, httpx.AsyncClient], session: AsyncSession
    ):
        app, http = small
        customer = await create_customer(session)
        big = samples.wav_bytes(3.0)  # 96 KB: past the limit plus the envelope allowance

        response = await http.post(URL, files={"file": ("a.wav", big, "audio/wav")}, headers=customer.headers)

        assert response.status_code == 413
        assert "detail" in response.json()
        assert stored_for_user(app, customer.user.id) == []

    async def test_streamed_body_growing_past_the_limit_is_refused_and_removed(
        self, small: tuple[FastAPI, httpx.AsyncClient], session: AsyncSession
    ):
        app, http = small
        customer = await create_customer(session)

        async def body() -> AsyncIterator[bytes]:  # no Content-Length: chunked, judged while streaming
            yield part_header("file", "a.wav") + samples.wav_header(5 * self.LIMIT)
            for _ in range(5):
                yield b"\x00" * self.LIMIT
            yield closing()

        response = await http.post(URL, content=body(), headers={**MULTIPART, **customer.headers})

        assert response.status_code == 413
        assert stored_for_user(app, customer.user.id) == []
        assert await count_assets(session, customer.user.id) == 0

    async def test_file_exactly_at_the_limit_is_accepted(
        self, small: tuple[FastAPI, httpx.AsyncClient], session: AsyncSession
    ):
        _, http = small
        customer = await create_customer(session)
        data = samples.wav_header(self.LIMIT - 44) + b"\x00" * (self.LIMIT - 44)

        response = await http.post(URL, files={"file": ("a.wav", data, "audio/wav")}, headers=customer.headers)

        assert response.status_code == 201, response.text
        assert response.json()["size_bytes"] == self.LIMIT


class TestRateLimit:
    @pytest.fixture
    async def limited(self, settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
        async for pair in _stack(settings.model_copy(update={"resemble_rate_limits": {"uploads": "2/minute"}})):
            yield pair

    async def test_third_upload_in_a_minute_is_429(
        self, limited: tuple[FastAPI, httpx.AsyncClient], session: AsyncSession
    ):
        _, http = limited
        customer = await create_customer(session)
        statuses = [(await upload(http, customer)).status_code for _ in range(3)]

        assert statuses == [201, 201, 429]
        refused = await upload(http, customer)
        assert int(refused.headers["Retry-After"]) >= 1
        assert "uploads" in refused.json()["detail"]


class TestStorageFailure:
    async def test_failure_mid_stream_is_502_and_records_nothing(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        session: AsyncSession,
        customer: Customer,
    ):
        with storage_replaced(app, FailingStorage(app.state.resources.storage)):
            response = await upload(client, customer, data=samples.wav_bytes(2.0))

        assert response.status_code == 502
        assert response.json() == {"detail": "Storage unavailable"}
        assert await count_assets(session, customer.user.id) == 0
        assert stored_for_user(app, customer.user.id) == []


def wav_stream(total: int, chunk: int) -> tuple[AsyncIterator[bytes], str]:
    """A multipart body carrying a `total`-byte WAV generated on the fly, and the file's SHA-256."""
    header = samples.wav_header(total - 44)
    block = bytes(range(256)) * (chunk // 256)
    digest = hashlib.sha256(header)
    remaining = total - len(header)
    while remaining:
        digest.update(block[: min(chunk, remaining)])
        remaining -= min(chunk, remaining)

    async def body() -> AsyncIterator[bytes]:
        yield part_header("purpose", None) + b"stt_input\r\n" + part_header("file", "big.wav") + header
        left = total - len(header)
        while left:
            piece = block if left >= chunk else block[:left]
            left -= len(piece)
            yield piece
        yield closing()

    return body(), digest.hexdigest()


class TestStreaming:
    async def test_large_upload_reaches_storage_in_small_chunks(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        session: AsyncSession,
        customer: Customer,
    ):
        """On the configured backend (S3: several 8 MiB parts), the bytes arrive intact and in network-sized
        chunks (the first one joined with the few bytes read to sniff the type), never as one buffered file."""
        recording = RecordingStorage(app.state.resources.storage)
        total = 20 * MiB + 12_345
        body, digest = wav_stream(total, 64 * 1024)

        with storage_replaced(app, recording):
            response = await client.post(URL, content=body, headers={**MULTIPART, **customer.headers})

        assert response.status_code == 201, response.text
        assert response.json()["size_bytes"] == total
        assert sum(recording.chunk_sizes) == total
        assert max(recording.chunk_sizes) <= 2 * 64 * 1024
        assert hashlib.sha256(await download(client, response.json()["url"])).hexdigest() == digest

    async def test_peak_memory_stays_far_below_the_file_size(self, settings: Settings, session: AsyncSession):
        """tracemalloc over a 50 MB upload, on local storage (moto's in-process S3 would itself hold the file)."""
        total = 50 * MiB
        local = settings.model_copy(update={"storage_backend": "local", "storage_local_dir": settings.var_dir / "big"})
        async for app, http in _stack(local):
            customer = await create_customer(session)
            body, _ = wav_stream(total, 64 * 1024)
            tracemalloc.start()
            try:
                baseline, _ = tracemalloc.get_traced_memory()
                response = await http.post(URL, content=body, headers={**MULTIPART, **customer.headers})
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()

            assert response.status_code == 201, response.text
            assert response.json()["size_bytes"] == total
            grown = peak - baseline
            print(f"peak traced memory during a {total / MiB:.0f} MiB upload: {grown / MiB:.2f} MiB")
            assert grown < 20 * MiB
            [asset] = await assets_of(session, customer.user.id)
            await app.state.resources.storage.delete(asset.storage_key)  # 50 MB need not outlive the test
