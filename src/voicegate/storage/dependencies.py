"""FastAPI dependency giving routes the process-wide storage backend (`app.state.storage`)."""

from __future__ import annotations

from fastapi import Request

from voicegate.storage.base import StorageBackend


def get_storage(request: Request) -> StorageBackend:
    storage = getattr(request.app.state, "storage", None)
    if storage is None:
        raise RuntimeError("app.state.storage is not set; build it with voicegate.storage.factory.build_storage")
    assert isinstance(storage, StorageBackend)
    return storage
