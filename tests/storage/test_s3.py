from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from botocore.exceptions import ClientError
from mypy_boto3_s3 import S3Client

from tests.storage.support import CREDENTIALS, chunked
from voicegate.storage.base import InvalidKey, ObjectMissing, StorageBackend, StorageError, StorageTooLarge
from voicegate.storage.s3 import S3Backend

MiB = 1024 * 1024


class PartRecorder:
    """Records the multipart calls a backend's client makes (botocore event hooks, no patching)."""

    def __init__(self, backend: S3Backend) -> None:
        self.part_sizes: list[int] = []
        self.calls: list[str] = []
        self._events = backend._client.meta.events
        self._events.register("before-parameter-build.s3.*", self._record)

    def _record(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        self.calls.append(model.name)
        if model.name == "UploadPart":
            self.part_sizes.append(len(params["Body"]))

    def close(self) -> None:
        self._events.unregister("before-parameter-build.s3.*", self._record)


@pytest.fixture
def recorder(s3: S3Backend) -> Iterator[PartRecorder]:
    recording = PartRecorder(s3)
    yield recording
    recording.close()


def head(client: S3Client, bucket: str, key: str) -> dict[str, Any] | None:
    try:
        return dict(client.head_object(Bucket=bucket, Key=key))
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "404":
            return None
        raise


def pending_uploads(client: S3Client, bucket: str, key: str) -> list[Any]:
    return list(client.list_multipart_uploads(Bucket=bucket, Prefix=key).get("Uploads", []))


async def http_get(url: str) -> httpx.Response:
    async with httpx.AsyncClient(trust_env=False, timeout=30) as http:
        return await http.get(url)


def test_is_a_storage_backend(s3: S3Backend) -> None:
    assert isinstance(s3, StorageBackend)
    assert s3.name == "s3"


async def test_ping(s3: S3Backend, moto_endpoint: str) -> None:
    await s3.ping()
    missing = S3Backend(
        name="s3", bucket="no-such-bucket", region="us-east-1", endpoint_url=moto_endpoint, **CREDENTIALS
    )
    with pytest.raises(StorageError):
        await missing.ping()
    missing.close()


async def test_put_get_exists_delete(s3: S3Backend, s3_client: S3Client, bucket: str, key: str) -> None:
    assert not await s3.exists(key)
    assert await s3.put_bytes(key, b"RIFF audio", "audio/wav") == 10
    assert await s3.exists(key)
    assert await s3.get_bytes(key) == b"RIFF audio"
    stored = head(s3_client, bucket, key)
    assert stored is not None
    assert stored["ContentType"] == "audio/wav"

    await s3.delete(key)
    assert not await s3.exists(key)
    await s3.delete(key)  # deleting again is not an error
    with pytest.raises(ObjectMissing):
        await s3.get_bytes(key)
    with pytest.raises(ObjectMissing):
        await s3.open_stream(key)


async def test_open_stream_is_chunked(s3: S3Backend, key: str) -> None:
    data = os.urandom(3 * MiB + 5)
    await s3.put_bytes(key, data, "audio/wav")
    stream = await s3.open_stream(key)
    assert stream.content_length == len(data)
    chunks = [chunk async for chunk in stream]
    assert len(chunks) > 1
    assert b"".join(chunks) == data


async def test_small_stream_is_a_single_put(s3: S3Backend, recorder: PartRecorder, key: str) -> None:
    data = os.urandom(MiB)
    assert await s3.put_stream(key, chunked(data, 64 * 1024), "audio/mpeg") == len(data)
    assert recorder.calls == ["PutObject"]
    assert await s3.get_bytes(key) == data


async def test_large_stream_uses_multipart(
    s3: S3Backend, s3_client: S3Client, recorder: PartRecorder, bucket: str, key: str
) -> None:
    data = os.urandom(20 * MiB)
    assert await s3.put_stream(key, chunked(data, 64 * 1024), "video/mp4") == len(data)

    assert recorder.calls == [
        "CreateMultipartUpload",
        "UploadPart",
        "UploadPart",
        "UploadPart",
        "CompleteMultipartUpload",
    ]
    assert recorder.part_sizes == [8 * MiB, 8 * MiB, 4 * MiB]
    stored = head(s3_client, bucket, key)
    assert stored is not None
    assert stored["ContentLength"] == len(data)
    assert stored["ContentType"] == "video/mp4"
    assert stored["ETag"].strip('"').endswith("-3")
    assert pending_uploads(s3_client, bucket, key) == []
    assert hashlib.sha256(await s3.get_bytes(key)).digest() == hashlib.sha256(data).digest()


async def test_stream_of_exact_parts(s3: S3Backend, recorder: PartRecorder, key: str) -> None:
    data = os.urandom(16 * MiB)
    assert await s3.put_stream(key, chunked(data, MiB), "video/mp4") == len(data)
    assert recorder.part_sizes == [8 * MiB, 8 * MiB]
    assert await s3.get_bytes(key) == data


async def test_too_large_aborts_the_multipart_upload(
    s3: S3Backend, s3_client: S3Client, recorder: PartRecorder, bucket: str, key: str
) -> None:
    with pytest.raises(StorageTooLarge):
        await s3.put_stream(key, chunked(b"v" * 20 * MiB, 256 * 1024), "video/mp4", max_bytes=12 * MiB)
    assert recorder.calls == ["CreateMultipartUpload", "UploadPart", "AbortMultipartUpload"]
    assert head(s3_client, bucket, key) is None
    assert pending_uploads(s3_client, bucket, key) == []


async def test_too_large_before_the_first_part_stores_nothing(
    s3: S3Backend, s3_client: S3Client, recorder: PartRecorder, bucket: str, key: str
) -> None:
    with pytest.raises(StorageTooLarge):
        await s3.put_stream(key, chunked(b"v" * MiB, 1000), "audio/wav", max_bytes=MiB - 1)
    assert recorder.calls == []
    assert head(s3_client, bucket, key) is None


async def test_failing_source_aborts_the_multipart_upload(
    s3: S3Backend, s3_client: S3Client, bucket: str, key: str
) -> None:
    async def broken() -> AsyncIterator[bytes]:
        async for chunk in chunked(b"a" * 9 * MiB, MiB):
            yield chunk
        raise ConnectionError("upstream went away")

    with pytest.raises(ConnectionError):
        await s3.put_stream(key, broken(), "audio/wav")
    assert head(s3_client, bucket, key) is None
    assert pending_uploads(s3_client, bucket, key) == []


async def test_presigned_url_downloads_the_object(s3: S3Backend, moto_endpoint: str, key: str) -> None:
    data = os.urandom(200_000)
    await s3.put_bytes(key, data, "audio/wav")
    url = await s3.presigned_url(key, timedelta(minutes=10))
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == moto_endpoint
    query = parse_qs(parts.query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Expires"] == ["600"]

    response = await http_get(url)
    assert response.status_code == 200
    assert response.content == data


async def test_presigned_url_with_filename(s3: S3Backend, key: str) -> None:
    await s3.put_bytes(key, b"abc", "audio/wav")
    url = await s3.presigned_url(key, timedelta(minutes=10), filename='my "voice".wav')
    disposition = parse_qs(urlsplit(url).query)["response-content-disposition"][0]
    assert disposition == "attachment; filename=\"my _voice_.wav\"; filename*=UTF-8''my%20%22voice%22.wav"
    response = await http_get(url)
    assert response.status_code == 200
    assert response.content == b"abc"
    assert response.headers["content-disposition"] == disposition


async def test_presigned_url_uses_the_public_endpoint(moto_endpoint: str, bucket: str, key: str) -> None:
    port = urlsplit(moto_endpoint).port
    backend = S3Backend(
        name="r2",
        bucket=bucket,
        region="auto",
        endpoint_url=moto_endpoint,
        public_endpoint_url=f"http://localhost:{port}",
        **CREDENTIALS,
    )
    try:
        await backend.put_bytes(key, b"public bytes", "audio/wav")
        url = await backend.presigned_url(key, timedelta(minutes=5))
        parts = urlsplit(url)
        assert parts.hostname == "localhost"
        assert parts.path == f"/{bucket}/{key}"
        assert "auto" in parse_qs(parts.query)["X-Amz-Credential"][0]
        response = await http_get(url)
        assert response.status_code == 200
        assert response.content == b"public bytes"
    finally:
        backend.close()


async def test_public_endpoint_host_is_used_for_presigning_only(moto_endpoint: str, bucket: str) -> None:
    backend = S3Backend(
        name="r2",
        bucket=bucket,
        region="auto",
        endpoint_url=moto_endpoint,
        public_endpoint_url="https://media.example.com",
        **CREDENTIALS,
    )
    try:
        await backend.ping()  # still talks to the API endpoint
        url = await backend.presigned_url("uploads/u/2026/01/01/000000-r.wav", timedelta(hours=1))
        parts = urlsplit(url)
        assert (parts.scheme, parts.hostname) == ("https", "media.example.com")
        assert parts.path == f"/{bucket}/uploads/u/2026/01/01/000000-r.wav"
    finally:
        backend.close()


@pytest.mark.parametrize("ttl", [timedelta(0), timedelta(days=8)])
async def test_presigned_url_ttl_bounds(s3: S3Backend, key: str, ttl: timedelta) -> None:
    with pytest.raises(ValueError, match="TTL"):
        await s3.presigned_url(key, ttl)


@pytest.mark.parametrize("bad_key", ["", "/abs", "a/../b", "a//b"])
async def test_invalid_keys(s3: S3Backend, bad_key: str) -> None:
    with pytest.raises(InvalidKey):
        await s3.put_bytes(bad_key, b"x", "audio/wav")
    with pytest.raises(InvalidKey):
        await s3.get_bytes(bad_key)
    with pytest.raises(InvalidKey):
        await s3.presigned_url(bad_key, timedelta(minutes=1))


async def test_ensure_bucket_is_idempotent(moto_endpoint: str) -> None:
    backend = S3Backend(
        name="s3", bucket="voicegate-ensure-eu", region="eu-west-1", endpoint_url=moto_endpoint, **CREDENTIALS
    )
    try:
        await backend.ensure_bucket()
        await backend.ensure_bucket()
        await backend.ping()
    finally:
        backend.close()


async def test_list_keys_walks_one_prefix_in_key_order(s3: S3Backend) -> None:
    user = f"u{uuid.uuid4().hex[:8]}"
    mine = [f"tts-output/{user}/2026/04/27/120000-b.wav", f"tts-output/{user}/2026/04/28/080000-a.wav"]
    for key in [*mine, f"tts-output/{user}0/2026/04/27/120000-c.wav", f"_deleted/tts-output/{user}/2026/04/01/d.wav"]:
        await s3.put_bytes(key, b"x", "audio/wav")

    assert [key async for key in s3.list_keys(f"tts-output/{user}/")] == mine
    assert [key async for key in s3.list_keys(f"_deleted/tts-output/{user}/")] == [
        f"_deleted/tts-output/{user}/2026/04/01/d.wav"
    ]
    assert [key async for key in s3.list_keys(f"uploads/{user}/")] == []
