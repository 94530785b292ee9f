"""Runtime settings on the request path: a per-process snapshot re-read at most every few seconds.

Every process keeps the stored overrides as plain values for `ttl_s` (at most 5 s), so a change made anywhere is
seen everywhere within that time; the process that writes forgets its snapshot at once. One read refreshes all
settings, and concurrent requests share it. While the database cannot be read, the last values it gave (or, if it
never answered, the environment's defaults) stay in effect: reading a flag never fails a request.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from types import MappingProxyType

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voicegate.config import Settings
from voicegate.db.errors import classify
from voicegate.kit.cache import TtlCache
from voicegate.runtime_settings import repository
from voicegate.runtime_settings.registry import RuntimeSetting, Value

log = logging.getLogger(__name__)

MAX_TTL_S = 5.0
_SNAPSHOT = "stored"
Snapshot = Mapping[str, Value]


class RuntimeSettings:
    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, *, ttl_s: float = MAX_TTL_S
    ) -> None:
        self._sessionmaker = sessionmaker
        self._settings = settings
        self._fresh: TtlCache[Snapshot] = TtlCache(ttl_s=min(ttl_s, MAX_TTL_S), max_entries=1)
        self._last_known: Snapshot = MappingProxyType({})
        self._loading = asyncio.Lock()
        self._generation = 0

    async def value(self, setting: RuntimeSetting) -> Value:
        """The setting's value in effect: the stored override, else the environment's default."""
        stored = (await self._snapshot()).get(setting.name)
        return setting.default(self._settings) if stored is None else stored

    def forget(self) -> None:
        """Drop the snapshot (after this process committed a change): the next read goes to the database."""
        self._generation += 1
        self._fresh.clear()

    async def _snapshot(self) -> Snapshot:
        cached = self._fresh.get(_SNAPSHOT)
        if cached is not None:
            return cached
        async with self._loading:
            cached = self._fresh.get(_SNAPSHOT)
            if cached is not None:
                return cached
            generation = self._generation
            snapshot = await self._load()
            if generation == self._generation:  # a change committed during the read must not be hidden by it
                self._fresh.put(_SNAPSHOT, snapshot, tag=_SNAPSHOT)
            return snapshot

    async def _load(self) -> Snapshot:
        try:
            async with self._sessionmaker() as session:
                stored = await repository.stored_values(session)
        except SQLAlchemyError as exc:
            outage = classify(exc)
            if outage is None:
                log.exception("runtime_settings_read_failed")
            else:
                log.warning("runtime_settings_unreadable", extra={"reason": outage.reason})
            return self._last_known  # kept for the TTL too: no retry per request while the database is away
        self._last_known = MappingProxyType({name: row.value for name, row in stored.items()})
        return self._last_known
