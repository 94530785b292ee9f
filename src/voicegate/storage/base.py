"""The storage backend contract shared by the local-disk and S3-compatible (R2, S3) implementations."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Protocol, runtime_checkable
from urllib.parse import quote

CHUNK_SIZE = 256 * 1024
MAX_KEY_LENGTH = 1024
# SigV4 presigned URLs cannot outlive 7 days; the local backend keeps the same bound.
MAX_PRESIGN_TTL = timedelta(days=7)


class StorageError(Exception):
    """The storage backend failed or refused an operation."""


class ObjectMissing(StorageError):
    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"no stored object at {key!r}")


class StorageTooLarge(StorageError):
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        super().__init__(f"object exceeds the limit of {max_bytes} bytes")


class InvalidKey(StorageError, ValueError):
    """The key is not acceptable to the backend (path traversal, absolute path, ...)."""


class ObjectStream(AsyncIterator[bytes]):
    """The chunks of one stored object.

    The source is released when the stream is exhausted, when reading fails, or on `aclose()`; a consumer that
    may stop early must call `aclose()`.
    """

    def __init__(
        self,
        read: Callable[[], Awaitable[bytes]],
        close: Callable[[], Awaitable[None]],
        content_length: int | None = None,
    ) -> None:
        self._read = read
        self._close = close
        self._closed = False
        self.content_length = content_length

    def __aiter__(self) -> ObjectStream:
        return self

    async def __anext__(self) -> bytes:
        if self._closed:
            raise StopAsyncIteration
        try:
            chunk = await self._read()
        except BaseException:
            await self.aclose()
            raise
        if not chunk:
            await self.aclose()
            raise StopAsyncIteration
        return chunk

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            await self._close()


@runtime_checkable
class StorageBackend(Protocol):
    name: str

    async def put_bytes(self, key: str, data: bytes, content_type: str) -> int:
        """Store `data` under `key` (replacing any object there); returns the number of bytes stored."""
        ...

    async def put_stream(
        self, key: str, chunks: AsyncIterator[bytes], content_type: str, max_bytes: int | None = None
    ) -> int:
        """Store a stream without holding it in memory.

        Past `max_bytes` raise StorageTooLarge and leave nothing stored (nor any partial upload) behind.
        """
        ...

    async def get_bytes(self, key: str) -> bytes:
        """The whole object; ObjectMissing when absent."""
        ...

    async def open_stream(self, key: str) -> ObjectStream:
        """Open the object for chunked reading; ObjectMissing (raised here, before any chunk) when absent."""
        ...

    async def exists(self, key: str) -> bool: ...

    async def delete(self, key: str) -> None:
        """Remove the object; deleting a missing object is not an error."""
        ...

    async def move(self, src_key: str, dst_key: str) -> None:
        """Move an object to another key (replacing any object there) without passing its bytes through us;
        ObjectMissing when `src_key` is absent. Not atomic on every backend: a failure may leave both copies."""
        ...

    def list_keys(self, prefix: str) -> AsyncIterator[str]:
        """Every object key that starts with `prefix`, in key order (a per-user erase walks `{prefix}{user_id}/`)."""
        ...

    async def presigned_url(self, key: str, ttl: timedelta, filename: str | None = None) -> str:
        """A URL that downloads the object without credentials until `ttl` has passed."""
        ...

    async def ping(self) -> None:
        """Raise StorageError when the backend is not usable (readiness check)."""
        ...


def check_key(key: str) -> str:
    """Reject keys that are not plain relative paths.

    Refused: empty or absolute keys, empty, `.`, `..` or hidden segments, backslashes and control characters.
    Every backend applies the same rule, so a key valid on one is valid on all.
    """
    valid = (
        isinstance(key, str)
        and 0 < len(key) <= MAX_KEY_LENGTH
        and "\\" not in key
        and not any(ord(c) < 0x20 or c == "\x7f" for c in key)
        and all(segment and not segment.startswith(".") for segment in key.split("/"))
    )
    if not valid:
        raise InvalidKey(f"invalid storage key: {key!r}")
    return key


def check_ttl(ttl: timedelta) -> int:
    """The TTL in whole seconds, within (0, 7 days]."""
    seconds = int(ttl.total_seconds())
    if seconds <= 0 or ttl > MAX_PRESIGN_TTL:
        raise ValueError(f"presign TTL must be between 1 second and {MAX_PRESIGN_TTL}, got {ttl}")
    return seconds


def content_disposition(filename: str) -> str:
    """An `attachment` Content-Disposition value carrying `filename` safely (ASCII fallback plus RFC 5987)."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in filename)
    return f"attachment; filename=\"{fallback or 'download'}\"; filename*=UTF-8''{quote(filename, safe='')}"
