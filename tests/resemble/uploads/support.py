"""Helpers for upload tests: building multipart bodies by hand (to control part order), listing what a user has
in storage on either backend, and storage wrappers that record or fail."""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import boto3
from fastapi import FastAPI

from voicegate.config import Settings
from voicegate.storage.base import StorageBackend, StorageError

URL = "/api/v1/resemble/uploads"
BOUNDARY = "voicegate-test-boundary-6f1d"


def field(name: str, value: str) -> tuple[str, str | None, bytes]:
    return (name, None, value.encode())


def file(data: bytes, filename: str = "clip.wav", name: str = "file") -> tuple[str, str | None, bytes]:
    return (name, filename, data)


def part_header(name: str, filename: str | None, content_type: str = "application/octet-stream") -> bytes:
    disposition = f'form-data; name="{name}"' + ("" if filename is None else f'; filename="{filename}"')
    kind = "" if filename is None else f"Content-Type: {content_type}\r\n"
    return f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n{kind}\r\n".encode()


def closing() -> bytes:
    return f"\r\n--{BOUNDARY}--\r\n".encode()


def multipart(parts: Sequence[tuple[str, str | None, bytes]]) -> tuple[bytes, dict[str, str]]:
    """A multipart/form-data body with the parts in exactly this order, and its Content-Type header."""
    body = b""
    for index, (name, filename, data) in enumerate(parts):
        body += (b"\r\n" if index else b"") + part_header(name, filename) + data
    return body + closing(), {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


def _s3_client(settings: Settings) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        region_name=settings.s3_region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def stored_for_user(app: FastAPI, user_id: str) -> list[str]:
    """Every object (and leftover temp file or unfinished multipart upload) holding this user's data."""
    settings: Settings = app.state.settings
    if settings.storage_backend == "local":
        root = settings.effective_storage_dir
        found = []
        for directory, _, names in os.walk(root):
            for name in names:
                relative = os.path.relpath(os.path.join(directory, name), root)
                if f"/{user_id}/" in f"/{relative}":
                    found.append(relative.replace(os.sep, "/"))
        return sorted(found)
    client = _s3_client(settings)
    try:
        bucket = settings.s3_bucket
        objects = client.list_objects_v2(Bucket=bucket).get("Contents", [])
        pending = client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    finally:
        client.close()
    return sorted(item["Key"] for item in [*objects, *pending] if f"/{user_id}/" in f"/{item['Key']}")


class RecordingStorage:
    """Delegates to a real backend; records the size of every chunk handed to `put_stream`."""

    def __init__(self, inner: StorageBackend) -> None:
        self._inner = inner
        self.name = inner.name
        self.chunk_sizes: list[int] = []

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._inner, attribute)

    async def put_stream(
        self, key: str, chunks: AsyncIterator[bytes], content_type: str, max_bytes: int | None = None
    ) -> int:
        async def recorded() -> AsyncIterator[bytes]:
            async for chunk in chunks:
                self.chunk_sizes.append(len(chunk))
                yield chunk

        return await self._inner.put_stream(key, recorded(), content_type, max_bytes)


class FailingStorage(RecordingStorage):
    """A backend whose connection drops after the first chunk of an upload (the real backend cleans up)."""

    async def put_stream(
        self, key: str, chunks: AsyncIterator[bytes], content_type: str, max_bytes: int | None = None
    ) -> int:
        async def dropping() -> AsyncIterator[bytes]:
            async for chunk in chunks:
                yield chunk
                raise StorageError("connection reset by peer")

        return await self._inner.put_stream(key, dropping(), content_type, max_bytes)


@contextlib.contextmanager
def storage_replaced(app: FastAPI, replacement: StorageBackend | RecordingStorage) -> Iterator[None]:
    """Serve requests with `replacement` as the storage backend (`Resources` is frozen: swap a copy in)."""
    original = app.state.resources
    app.state.resources = dataclasses.replace(original, storage=replacement)
    try:
        yield
    finally:
        app.state.resources = original
