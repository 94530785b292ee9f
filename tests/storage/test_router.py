from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI

from tests.storage.support import SECRET, flip_last_digit
from voicegate.deps import get_storage
from voicegate.errors import install_exception_handlers
from voicegate.kit.time import utc_now
from voicegate.storage.base import StorageBackend
from voicegate.storage.local import LocalBackend, sign
from voicegate.storage.router import get_expired_check, mount_files_router, router
from voicegate.storage.s3 import S3Backend

KEY = "tts-output/user_1/2026/04/27/120000-req1.wav"
FORBIDDEN = {"detail": "Invalid or expired signature"}
EXPIRED_KEY = "tts-output/user_1/2026/04/20/120000-gone1.wav"


async def has_expired(key: str) -> bool:
    return key == EXPIRED_KEY


def make_app(storage: StorageBackend, *, mount: bool = True) -> FastAPI:
    app = FastAPI()
    install_exception_handlers(app)
    if mount:
        app.include_router(router)
    app.dependency_overrides[get_storage] = lambda: storage
    app.dependency_overrides[get_expired_check] = lambda: has_expired
    return app


@pytest.fixture
async def client(local: LocalBackend) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=make_app(local))
    async with httpx.AsyncClient(transport=transport, base_url="http://files.test") as http:
        yield http


def path_and_query(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def test_serves_a_signed_url(local: LocalBackend, client: httpx.AsyncClient) -> None:
    data = b"RIFF" + bytes(range(256)) * 2000
    await local.put_bytes(KEY, data, "audio/wav")
    url = await local.presigned_url(KEY, timedelta(minutes=5))

    response = await client.get(path_and_query(url))
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-type"] == "audio/wav"
    assert response.headers["content-length"] == str(len(data))
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "content-disposition" not in response.headers


@pytest.mark.parametrize(
    ("ext", "content_type"),
    [
        ("wav", "audio/wav"),
        ("mp3", "audio/mpeg"),
        ("json", "application/json"),
        ("png", "image/png"),
        ("mp4", "video/mp4"),
        ("bin", "application/octet-stream"),
    ],
)
async def test_content_type_follows_the_extension(
    local: LocalBackend, client: httpx.AsyncClient, ext: str, content_type: str
) -> None:
    key = f"uploads/u/2026/04/27/120000-r.{ext}"
    await local.put_bytes(key, b"{}", "ignored/by-local")
    response = await client.get(path_and_query(await local.presigned_url(key, timedelta(minutes=1))))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(content_type)


async def test_filename_becomes_an_attachment(local: LocalBackend, client: httpx.AsyncClient) -> None:
    await local.put_bytes(KEY, b"abc", "audio/wav")
    url = await local.presigned_url(KEY, timedelta(minutes=5), filename="hello world.wav")
    response = await client.get(path_and_query(url))
    assert response.status_code == 200
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"hello world.wav\"; filename*=UTF-8''hello%20world.wav"
    )
    tampered = path_and_query(url).replace("hello+world.wav", "evil.html")
    assert (await client.get(tampered)).status_code == 403


async def test_bad_signatures_are_forbidden(local: LocalBackend, client: httpx.AsyncClient) -> None:
    await local.put_bytes(KEY, b"abc", "audio/wav")
    expires = int(utc_now().timestamp()) + 300
    good = sign(SECRET, KEY, expires)
    other_key = KEY.replace("user_1", "user_2")
    await local.put_bytes(other_key, b"not yours", "audio/wav")
    attempts = [
        f"/files/{KEY}",
        f"/files/{KEY}?expires={expires}",
        f"/files/{KEY}?sig={good}",
        f"/files/{KEY}?expires={expires}&sig={flip_last_digit(good)}",
        f"/files/{KEY}?expires={expires + 1}&sig={good}",
        f"/files/{KEY}?expires=soon&sig={good}",
        f"/files/{KEY}?expires=-{expires}&sig={good}",
        f"/files/{other_key}?expires={expires}&sig={good}",
    ]
    for attempt in attempts:
        response = await client.get(attempt)
        assert response.status_code == 403, attempt
        assert response.json() == FORBIDDEN
    assert (await client.get(f"/files/{KEY}?expires={expires}&sig={good}")).status_code == 200


async def test_expired_signature_is_forbidden(local: LocalBackend, client: httpx.AsyncClient) -> None:
    await local.put_bytes(KEY, b"abc", "audio/wav")
    expired = int(utc_now().timestamp()) - 1
    response = await client.get(f"/files/{KEY}?expires={expired}&sig={sign(SECRET, KEY, expired)}")
    assert response.status_code == 403
    assert response.json() == FORBIDDEN


async def test_missing_object_is_not_found(local: LocalBackend, client: httpx.AsyncClient) -> None:
    url = await local.presigned_url(KEY, timedelta(minutes=5))
    response = await client.get(path_and_query(url))
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found"}


async def test_expired_asset_is_gone_even_with_a_valid_signature(
    local: LocalBackend, client: httpx.AsyncClient
) -> None:
    url = await local.presigned_url(EXPIRED_KEY, timedelta(minutes=5))
    response = await client.get(path_and_query(url))
    assert response.status_code == 410
    assert response.json() == {"detail": "This file expired and was deleted under the retention policy"}


async def test_invalid_key_with_a_valid_signature_is_not_found(local: LocalBackend, client: httpx.AsyncClient) -> None:
    key = "tts-output/.hidden"
    expires = int(utc_now().timestamp()) + 60
    response = await client.get(f"/files/{key}?expires={expires}&sig={sign(SECRET, key, expires)}")
    assert response.status_code == 404


async def test_s3_backend_answers_not_found(s3: S3Backend) -> None:
    await s3.put_bytes(KEY, b"abc", "audio/wav")
    expires = int(utc_now().timestamp()) + 60
    transport = httpx.ASGITransport(app=make_app(s3))
    async with httpx.AsyncClient(transport=transport, base_url="http://files.test") as http:
        response = await http.get(f"/files/{KEY}?expires={expires}&sig={sign(SECRET, KEY, expires)}")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found"}


async def test_mount_files_router_only_for_local(local: LocalBackend, s3: S3Backend) -> None:
    await local.put_bytes(KEY, b"abc", "audio/wav")
    for storage, mounted in ((local, True), (s3, False)):
        app = make_app(storage, mount=False)
        assert mount_files_router(app, storage) is mounted
        url = await local.presigned_url(KEY, timedelta(minutes=1))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://files.test") as http:
            response = await http.get(path_and_query(url))
        assert response.status_code == (200 if mounted else 404)
