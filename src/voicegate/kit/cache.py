"""A small in-process cache whose entries expire after a fixed time, with forgetting by tag."""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Generic, TypeVar

TTL_S = 5.0
MAX_ENTRIES = 10_000

V = TypeVar("V")


class TtlCache(Generic[V]):
    def __init__(self, ttl_s: float = TTL_S, max_entries: int = MAX_ENTRIES) -> None:
        self._ttl_s = ttl_s
        self._max = max_entries
        self._entries: OrderedDict[str, tuple[float, str, V]] = OrderedDict()

    def get(self, key: str) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, _, value = entry
        if expires < time.monotonic():
            del self._entries[key]
            return None
        return value

    def put(self, key: str, value: V, *, tag: str) -> None:
        """`tag` groups entries for `forget` (e.g. every credential of one API key)."""
        self._entries[key] = (time.monotonic() + self._ttl_s, tag, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def forget(self, tag: str) -> None:
        for key in [k for k, (_, t, _) in self._entries.items() if t == tag]:
            self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()
