"""Constants and helpers shared by the storage tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

SECRET = "storage-tests-signing-secret-0123456789abcdef"
PUBLIC_BASE_URL = "http://files.test"
CREDENTIALS = {"access_key_id": "testing", "secret_access_key": "testing"}


async def chunked(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def flip_last_digit(sig: str) -> str:
    return sig[:-1] + ("1" if sig[-1] == "0" else "0")
