"""Local-disk storage: objects are files under one root; downloads go through signed `/files/{key}` URLs."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote, urlencode

import anyio
import anyio.to_thread

from voicegate.kit.time import utc_now
from voicegate.storage.base import (
    CHUNK_SIZE,
    ObjectMissing,
    ObjectStream,
    StorageError,
    StorageTooLarge,
    check_key,
    check_ttl,
)

_SIG_RE = re.compile(r"[0-9a-f]{64}")


def sign(secret: str, key: str, expires: int, filename: str | None = None) -> str:
    """Hex HMAC-SHA256 over `key\\nexpires` (plus `\\nfilename` when the URL names a download filename)."""
    message = f"{key}\n{expires}" if filename is None else f"{key}\n{expires}\n{filename}"
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


@contextlib.contextmanager
def _os_errors(key: str, *, reading: bool = True) -> Iterator[None]:
    try:
        yield
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
        if not reading:
            raise StorageError(f"local storage failed for {key!r}: {exc}") from exc
        raise ObjectMissing(key) from exc
    except OSError as exc:
        raise StorageError(f"local storage failed for {key!r}: {exc}") from exc


def _temp_path(path: Path) -> Path:
    # Same directory as the target so the final os.replace is an atomic rename on one filesystem; keys cannot
    # have a segment starting with "." so a temp file never collides with an object.
    return path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = _temp_path(path)
    try:
        temp.write_bytes(data)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink(missing_ok=True)
        raise


def _open_for_reading(path: Path) -> tuple[BinaryIO, int]:
    handle = path.open("rb")
    try:
        return handle, os.fstat(handle.fileno()).st_size
    except BaseException:
        handle.close()
        raise


def _rename(source: Path, target: Path) -> None:
    if not source.is_file():
        raise FileNotFoundError(source)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source, target)


def _keys_under(root: Path, prefix: str) -> list[str]:
    """Object keys under `root` starting with `prefix`; temp files (hidden names) are not objects."""
    directory = root.joinpath(*prefix.split("/")[:-1])
    found: list[str] = []
    for folder, subfolders, names in os.walk(directory):
        subfolders[:] = [name for name in subfolders if not name.startswith(".")]
        base = Path(folder).relative_to(root).as_posix()
        for name in names:
            key = name if base == "." else f"{base}/{name}"
            if not name.startswith(".") and key.startswith(prefix):
                found.append(key)
    return sorted(found)


def _delete(path: Path) -> None:
    # A "directory" key holds no object, as on S3: nothing to delete.
    with contextlib.suppress(FileNotFoundError, IsADirectoryError, NotADirectoryError):
        path.unlink()


class LocalBackend:
    name = "local"

    def __init__(self, root: Path, *, public_base_url: str, secret: str) -> None:
        if not secret:
            raise ValueError("the local storage backend needs a non-empty signing secret")
        self.root = root.absolute()
        self.public_base_url = public_base_url.rstrip("/")
        self._secret = secret

    def path_for(self, key: str) -> Path:
        """The file holding `key`; InvalidKey for keys that could leave the root or are not plain paths."""
        return self.root.joinpath(*check_key(key).split("/"))

    async def put_bytes(self, key: str, data: bytes, content_type: str) -> int:
        path = self.path_for(key)
        with _os_errors(key, reading=False):
            await anyio.to_thread.run_sync(_write_atomic, path, data)
        return len(data)

    async def put_stream(
        self, key: str, chunks: AsyncIterator[bytes], content_type: str, max_bytes: int | None = None
    ) -> int:
        path = self.path_for(key)
        temp = _temp_path(path)
        total = 0
        try:
            with _os_errors(key, reading=False):
                await anyio.to_thread.run_sync(partial(path.parent.mkdir, parents=True, exist_ok=True))
                handle = await anyio.open_file(temp, "wb")
            async with handle:
                async for chunk in chunks:
                    total += len(chunk)
                    if max_bytes is not None and total > max_bytes:
                        raise StorageTooLarge(max_bytes)
                    if chunk:
                        with _os_errors(key, reading=False):
                            await handle.write(chunk)
            with _os_errors(key, reading=False):
                await anyio.to_thread.run_sync(os.replace, temp, path)
        except BaseException:
            with anyio.CancelScope(shield=True), contextlib.suppress(OSError):
                await anyio.to_thread.run_sync(partial(temp.unlink, missing_ok=True))
            raise
        return total

    async def get_bytes(self, key: str) -> bytes:
        path = self.path_for(key)
        with _os_errors(key):
            return await anyio.to_thread.run_sync(path.read_bytes)

    async def open_stream(self, key: str) -> ObjectStream:
        path = self.path_for(key)
        with _os_errors(key):
            handle, size = await anyio.to_thread.run_sync(_open_for_reading, path)

        async def read() -> bytes:
            with _os_errors(key):
                return await anyio.to_thread.run_sync(handle.read, CHUNK_SIZE)

        async def close() -> None:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(handle.close)

        return ObjectStream(read, close, content_length=size)

    async def exists(self, key: str) -> bool:
        path = self.path_for(key)
        with _os_errors(key, reading=False):
            return await anyio.to_thread.run_sync(path.is_file)

    async def delete(self, key: str) -> None:
        path = self.path_for(key)
        with _os_errors(key):
            await anyio.to_thread.run_sync(_delete, path)

    async def move(self, src_key: str, dst_key: str) -> None:
        source, target = self.path_for(src_key), self.path_for(dst_key)
        with _os_errors(src_key):
            await anyio.to_thread.run_sync(_rename, source, target)

    async def list_keys(self, prefix: str) -> AsyncIterator[str]:
        if prefix:
            check_key(prefix.rstrip("/") or prefix)
        with _os_errors(prefix, reading=False):
            keys = await anyio.to_thread.run_sync(_keys_under, self.root, prefix)
        for key in keys:
            yield key

    async def presigned_url(self, key: str, ttl: timedelta, filename: str | None = None) -> str:
        self.path_for(key)
        expires = int(utc_now().timestamp()) + check_ttl(ttl)
        query = {"expires": str(expires), "sig": sign(self._secret, key, expires, filename)}
        if filename is not None:
            query["filename"] = filename
        return f"{self.public_base_url}/files/{quote(key, safe='/')}?{urlencode(query)}"

    def verify_signature(self, key: str, expires: int, sig: str, now: datetime, filename: str | None = None) -> bool:
        """True when `sig` was issued by `presigned_url` for this key (and filename) and has not expired."""
        if now.timestamp() > expires or _SIG_RE.fullmatch(sig) is None:
            return False
        return hmac.compare_digest(sign(self._secret, key, expires, filename), sig)

    async def ping(self) -> None:
        def check() -> None:
            self.root.mkdir(parents=True, exist_ok=True)
            if not os.access(self.root, os.W_OK | os.X_OK):
                raise PermissionError(f"storage directory {self.root} is not writable")

        try:
            await anyio.to_thread.run_sync(check)
        except OSError as exc:
            raise StorageError(f"local storage unavailable: {exc}") from exc
