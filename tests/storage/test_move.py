"""`move` on both backends: a rename on disk, a server-side copy and delete on S3 (moto)."""

from __future__ import annotations

import pytest

from voicegate.storage.base import InvalidKey, ObjectMissing, StorageBackend
from voicegate.storage.local import LocalBackend
from voicegate.storage.retention import deleted_key
from voicegate.storage.s3 import S3Backend


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest) -> StorageBackend:
    if request.param == "local":
        local: LocalBackend = request.getfixturevalue("local")
        return local
    s3: S3Backend = request.getfixturevalue("s3")
    return s3


async def test_moves_the_object(backend: StorageBackend, key: str) -> None:
    await backend.put_bytes(key, b"RIFF-moved", "audio/wav")
    await backend.move(key, deleted_key(key))
    assert not await backend.exists(key)
    assert await backend.get_bytes(deleted_key(key)) == b"RIFF-moved"

    await backend.move(deleted_key(key), key)
    assert await backend.get_bytes(key) == b"RIFF-moved"
    assert not await backend.exists(deleted_key(key))


async def test_replaces_what_is_at_the_target(backend: StorageBackend, key: str) -> None:
    await backend.put_bytes(key, b"new", "audio/wav")
    await backend.put_bytes(deleted_key(key), b"old", "audio/wav")
    await backend.move(key, deleted_key(key))
    assert await backend.get_bytes(deleted_key(key)) == b"new"


async def test_a_missing_source_is_object_missing(backend: StorageBackend, key: str) -> None:
    with pytest.raises(ObjectMissing):
        await backend.move(key, deleted_key(key))
    assert not await backend.exists(deleted_key(key))


@pytest.mark.parametrize(("src", "dst"), [("../escape.wav", "_deleted/x.wav"), ("uploads/a.wav", "/abs.wav")])
async def test_invalid_keys_are_refused(backend: StorageBackend, src: str, dst: str) -> None:
    with pytest.raises(InvalidKey):
        await backend.move(src, dst)
