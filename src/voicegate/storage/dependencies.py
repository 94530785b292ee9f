"""FastAPI dependency giving routes the process-wide storage backend (`app.state.storage`)."""

from __future__ import annotations

from typing import cast

from fastapi import Request

from voicegate.storage.base import StorageBackend


async def get_storage(request: Request) -> StorageBackend:
    storage = getattr(request.app.state, "storage", None)
    if storage is None:
        raise RuntimeError("app.state.storage is not set; build it with voicegate.storage.factory.build_storage")
    return cast(StorageBackend, storage)
