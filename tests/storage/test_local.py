from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.storage.support import PUBLIC_BASE_URL, SECRET, chunked, flip_last_digit
from voicegate.kit.time import utc_now
from voicegate.storage.base import InvalidKey, ObjectMissing, StorageBackend, StorageError, StorageTooLarge
from voicegate.storage.local import LocalBackend, sign

KEY = "tts-output/user_1/2026/04/27/120000-req1.wav"


def files_under(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def test_is_a_storage_backend(local: LocalBackend) -> None:
    assert isinstance(local, StorageBackend)
    assert local.name == "local"


async def test_put_get_exists_delete(local: LocalBackend) -> None:
    assert not await local.exists(KEY)
    assert await local.put_bytes(KEY, b"RIFF audio", "audio/wav") == 10
    assert await local.exists(KEY)
    assert (local.root / KEY).read_bytes() == b"RIFF audio"
    assert await local.get_bytes(KEY) == b"RIFF audio"

    assert await local.put_bytes(KEY, b"replaced", "audio/wav") == 8
    assert await local.get_bytes(KEY) == b"replaced"

    await local.delete(KEY)
    assert not await local.exists(KEY)
    await local.delete(KEY)  # deleting again is not an error
    with pytest.raises(ObjectMissing):
        await local.get_bytes(KEY)
    assert files_under(local.root) == []


async def test_a_directory_is_not_an_object(local: LocalBackend) -> None:
    await local.put_bytes(KEY, b"x", "audio/wav")
    assert not await local.exists("tts-output/user_1")
    with pytest.raises(ObjectMissing):
        await local.get_bytes("tts-output/user_1")
    with pytest.raises(ObjectMissing):
        await local.open_stream("tts-output/user_1")
    await local.delete("tts-output/user_1")
    assert await local.exists(KEY)


async def test_put_stream_and_open_stream(local: LocalBackend) -> None:
    data = os.urandom(1_000_003)
    assert await local.put_stream(KEY, chunked(data, 4096), "audio/wav") == len(data)
    stream = await local.open_stream(KEY)
    assert stream.content_length == len(data)
    chunks = [chunk async for chunk in stream]
    assert len(chunks) > 1
    assert b"".join(chunks) == data
    assert files_under(local.root) == [local.root / KEY]


async def test_put_stream_up_to_the_limit_is_accepted(local: LocalBackend) -> None:
    assert await local.put_stream(KEY, chunked(b"a" * 100, 7), "audio/wav", max_bytes=100) == 100
    assert await local.get_bytes(KEY) == b"a" * 100


async def test_open_stream_missing(local: LocalBackend) -> None:
    with pytest.raises(ObjectMissing):
        await local.open_stream(KEY)


async def test_stream_can_be_closed_early(local: LocalBackend) -> None:
    await local.put_bytes(KEY, os.urandom(1_000_000), "audio/wav")
    stream = await local.open_stream(KEY)
    assert await stream.__anext__()
    await stream.aclose()
    assert [chunk async for chunk in stream] == []


async def test_too_large_leaves_nothing_behind(local: LocalBackend) -> None:
    with pytest.raises(StorageTooLarge) as caught:
        await local.put_stream(KEY, chunked(b"x" * 10_000, 1000), "audio/wav", max_bytes=9_999)
    assert caught.value.max_bytes == 9_999
    assert not await local.exists(KEY)
    assert files_under(local.root) == []


async def test_too_large_keeps_the_previous_object(local: LocalBackend) -> None:
    await local.put_bytes(KEY, b"old", "audio/wav")
    with pytest.raises(StorageTooLarge):
        await local.put_stream(KEY, chunked(b"x" * 100, 10), "audio/wav", max_bytes=50)
    assert await local.get_bytes(KEY) == b"old"
    assert files_under(local.root) == [local.root / KEY]


async def test_failing_source_leaves_nothing_behind(local: LocalBackend) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"partial"
        raise ConnectionError("upstream went away")

    with pytest.raises(ConnectionError):
        await local.put_stream(KEY, broken(), "audio/wav")
    assert files_under(local.root) == []


BAD_KEYS = [
    "",
    "/etc/passwd",
    "../outside.wav",
    "tts-output/../../outside.wav",
    "tts-output/./x.wav",
    "tts-output//x.wav",
    "tts-output/.hidden",
    "tts-output/x.wav/",
    "tts-output\\..\\x.wav",
    "tts-output/x\x00.wav",
    "tts-output/x\n.wav",
    "x" * 1025,
]


@pytest.mark.parametrize("bad_key", BAD_KEYS)
async def test_keys_cannot_escape_the_root(local: LocalBackend, bad_key: str) -> None:
    with pytest.raises(InvalidKey):
        await local.put_bytes(bad_key, b"x", "audio/wav")
    with pytest.raises(InvalidKey):
        await local.put_stream(bad_key, chunked(b"x", 1), "audio/wav")
    with pytest.raises(InvalidKey):
        await local.get_bytes(bad_key)
    with pytest.raises(InvalidKey):
        await local.open_stream(bad_key)
    with pytest.raises(InvalidKey):
        await local.exists(bad_key)
    with pytest.raises(InvalidKey):
        await local.delete(bad_key)
    with pytest.raises(InvalidKey):
        await local.presigned_url(bad_key, timedelta(minutes=5))
    assert not local.root.parent.joinpath("outside.wav").exists()


def test_invalid_key_is_a_value_error() -> None:
    assert issubclass(InvalidKey, ValueError)
    assert issubclass(InvalidKey, StorageError)


async def test_presigned_url_shape(local: LocalBackend) -> None:
    before = int(utc_now().timestamp())
    url = await local.presigned_url(KEY, timedelta(hours=1))
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == PUBLIC_BASE_URL
    assert parts.path == f"/files/{KEY}"
    query = parse_qs(parts.query)
    assert set(query) == {"expires", "sig"}
    expires = int(query["expires"][0])
    assert before + 3600 <= expires <= before + 3601
    assert query["sig"][0] == sign(SECRET, KEY, expires)
    assert local.verify_signature(KEY, expires, query["sig"][0], utc_now())


async def test_presigned_url_with_filename_binds_it(local: LocalBackend) -> None:
    url = await local.presigned_url(KEY, timedelta(hours=1), filename="my voice.wav")
    query = parse_qs(urlsplit(url).query)
    expires, sig = int(query["expires"][0]), query["sig"][0]
    assert query["filename"] == ["my voice.wav"]
    assert local.verify_signature(KEY, expires, sig, utc_now(), "my voice.wav")
    assert not local.verify_signature(KEY, expires, sig, utc_now(), "evil.html")
    assert not local.verify_signature(KEY, expires, sig, utc_now())


@pytest.mark.parametrize("ttl", [timedelta(0), timedelta(seconds=-5), timedelta(days=8)])
async def test_presigned_url_ttl_bounds(local: LocalBackend, ttl: timedelta) -> None:
    with pytest.raises(ValueError, match="TTL"):
        await local.presigned_url(KEY, ttl)


def test_signature_is_hmac_sha256_over_key_and_expiry() -> None:
    import hashlib
    import hmac

    expected = hmac.new(SECRET.encode(), f"{KEY}\n1777000000".encode(), hashlib.sha256).hexdigest()
    assert sign(SECRET, KEY, 1_777_000_000) == expected


NOW = datetime(2026, 4, 27, 12, 0, 0, tzinfo=UTC)
EXPIRES = int(NOW.timestamp()) + 600


def test_signature_valid(local: LocalBackend) -> None:
    assert local.verify_signature(KEY, EXPIRES, sign(SECRET, KEY, EXPIRES), NOW)
    # Still valid at the exact second of expiry, not after it.
    assert local.verify_signature(KEY, EXPIRES, sign(SECRET, KEY, EXPIRES), NOW + timedelta(seconds=600))


@pytest.mark.parametrize(
    ("key", "expires", "sig"),
    [
        (KEY, EXPIRES, flip_last_digit(sign(SECRET, KEY, EXPIRES))),
        (KEY, EXPIRES, sign(SECRET, KEY, EXPIRES).upper()),
        (KEY, EXPIRES, sign("another-secret", KEY, EXPIRES)),
        (KEY.replace("user_1", "user_2"), EXPIRES, sign(SECRET, KEY, EXPIRES)),  # tampered key
        (KEY, EXPIRES + 3600, sign(SECRET, KEY, EXPIRES)),  # extended expiry
        (KEY, EXPIRES, ""),
        (KEY, EXPIRES, "zz" * 32),
        (KEY, EXPIRES, "é" * 64),
    ],
)
def test_signature_tampered(local: LocalBackend, key: str, expires: int, sig: str) -> None:
    assert not local.verify_signature(key, expires, sig, NOW)


def test_signature_expired(local: LocalBackend) -> None:
    sig = sign(SECRET, KEY, EXPIRES)
    assert not local.verify_signature(KEY, EXPIRES, sig, NOW + timedelta(seconds=601))


async def test_ping_creates_the_root(local: LocalBackend) -> None:
    assert not local.root.exists()
    await local.ping()
    assert local.root.is_dir()


async def test_ping_fails_when_the_root_is_not_a_directory(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    backend = LocalBackend(blocker, public_base_url=PUBLIC_BASE_URL, secret=SECRET)
    with pytest.raises(StorageError):
        await backend.ping()


def test_empty_secret_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="secret"):
        LocalBackend(tmp_path, public_base_url=PUBLIC_BASE_URL, secret="")


async def test_list_keys_walks_one_prefix_in_key_order(local: LocalBackend) -> None:
    mine = ["tts-output/u1/2026/04/27/120000-b.wav", "tts-output/u1/2026/04/28/080000-a.wav"]
    for key in [*mine, "tts-output/u10/2026/04/27/120000-c.wav", "_deleted/tts-output/u1/2026/04/01/000000-d.wav"]:
        await local.put_bytes(key, b"x", "audio/wav")
    (local.root / "tts-output" / "u1" / "2026" / ".half-written.part").write_bytes(b"tmp")

    assert [key async for key in local.list_keys("tts-output/u1/")] == mine
    assert [key async for key in local.list_keys("_deleted/tts-output/u1/")] == [
        "_deleted/tts-output/u1/2026/04/01/000000-d.wav"
    ]
    assert [key async for key in local.list_keys("tts-output/u1")] == [*mine, "tts-output/u10/2026/04/27/120000-c.wav"]
    assert [key async for key in local.list_keys("uploads/u1/")] == []
    with pytest.raises(InvalidKey):
        _ = [key async for key in local.list_keys("../outside/")]
