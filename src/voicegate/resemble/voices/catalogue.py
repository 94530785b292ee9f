"""The voice catalogue as each user sees it: their own voices, then Resemble's stock voices, never another user's.

Resemble lists the whole shared account. The gateway keeps a snapshot of it (every page, fetched at most once per
`CATALOGUE_TTL_S`), filters it per caller with the ownership table by the rule in `access`, and paginates locally,
so `num_pages` and `total_count` count only what the caller may see. The caller's voices come first, oldest
first, then stock voices in Resemble's order. The caller's own voice is never served from the snapshot by `get`
(its status changes while it builds); a list shows the snapshot's copy, and fetches the caller's voices that are
newer than the snapshot one by one.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import anyio
import orjson

from voicegate.errors import NotFound, UpstreamError
from voicegate.kit.cache import TtlCache
from voicegate.resemble.ownership import repository
from voicegate.resemble.ownership import service as ownership
from voicegate.resemble.ownership.calls import Scope
from voicegate.resemble.ownership.kinds import Kind
from voicegate.resemble.ownership.repository import OwnedResource
from voicegate.resemble.voices import access
from voicegate.resemble.voices.access import Holder
from voicegate.upstream.client import ResembleClient

log = logging.getLogger(__name__)

# The catalogue changes rarely, and synthesis consults it for every voice nobody owns: a short-lived snapshot spares
# Resemble and keeps that check in memory. Errors are never kept.
CATALOGUE_TTL_S = 30.0
FETCH_PAGE_SIZE = 1000  # Resemble's largest page
MAX_FETCH_PAGES = 100  # 100,000 voices: bounds one refresh even if upstream kept announcing more pages
SNAPSHOT_KEY = "account"


@dataclass(frozen=True)
class Snapshot:
    """The account's voices at one moment, in Resemble's order. Each item is kept serialised, so no reader can
    change what the next one sees."""

    uuids: tuple[str, ...]
    items: Mapping[str, bytes]
    stock: frozenset[str]

    @classmethod
    def of(cls, items: Iterable[Mapping[str, Any]]) -> Snapshot:
        kept: dict[str, bytes] = {}
        stock: set[str] = set()
        for item in items:
            uuid = item.get("uuid")
            if not isinstance(uuid, str) or not 0 < len(uuid) <= 64 or uuid in kept:
                continue  # a voice without a usable id cannot be named by anyone
            kept[uuid] = orjson.dumps(item)
            if access.is_stock_source(item.get("source")):
                stock.add(uuid)
        return cls(uuids=tuple(kept), items=MappingProxyType(kept), stock=frozenset(stock))

    def __contains__(self, uuid: object) -> bool:
        return uuid in self.items

    def is_stock(self, uuid: str) -> bool:
        return uuid in self.stock

    def item(self, uuid: str) -> dict[str, Any] | None:
        raw = self.items.get(uuid)
        if raw is None:
            return None
        loaded: dict[str, Any] = orjson.loads(raw)
        return loaded


class VoiceCatalogue:
    """The shared account's whole catalogue, fetched at most once per `ttl_s`. One refresh runs at a time, so a
    burst of requests after expiry costs Resemble one round of calls."""

    def __init__(self, upstream: ResembleClient, ttl_s: float = CATALOGUE_TTL_S) -> None:
        self._upstream = upstream
        self._cache: TtlCache[Snapshot] = TtlCache(ttl_s=ttl_s, max_entries=1)
        self._refreshing = anyio.Lock()

    async def snapshot(self) -> Snapshot:
        kept = self._cache.get(SNAPSHOT_KEY)
        if kept is not None:
            return kept
        async with self._refreshing:
            kept = self._cache.get(SNAPSHOT_KEY)  # the refresh we waited for may have just made one
            if kept is None:
                kept = Snapshot.of(await self._fetch_all_pages())
                self._cache.put(SNAPSHOT_KEY, kept, tag="voices")
            return kept

    def forget(self) -> None:
        """Drop the snapshot (after a voice is created or deleted here, say), so the next read fetches anew."""
        self._cache.clear()

    async def _fetch_all_pages(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for page in range(1, MAX_FETCH_PAGES + 1):
            body = await self._upstream.list_voices(page=page, page_size=FETCH_PAGE_SIZE)
            batch = body.get("items")
            if not isinstance(batch, list):
                raise UpstreamError(extra={"reason": "voice list without items"})
            items.extend(item for item in batch if isinstance(item, dict))
            pages = body.get("num_pages", body.get("page_count"))  # the docs show both names
            if len(batch) < FETCH_PAGE_SIZE or (isinstance(pages, int) and page >= pages):
                return items
        log.warning("voice_catalogue_truncated", extra={"voices": len(items), "pages": MAX_FETCH_PAGES})
        return items


async def list_page(scope: Scope, catalogue: VoiceCatalogue, *, page: int, page_size: int) -> dict[str, Any]:
    """One page of the voices the caller may see, in the envelope `{success, page, num_pages, page_size,
    total_count, items}`. A voice of the caller's found gone upstream is retired and the page is read again."""
    while True:
        snapshot = await catalogue.snapshot()
        rows = await repository.live_of_kind(scope.session, Kind.VOICE)  # everyone's: theirs must be hidden
        await scope.session.commit()  # end the read: upstream calls may follow
        owners = {row.upstream_id: row.user_id for row in rows}
        own = [row for row in rows if access.holder_of(scope.user_id, row.user_id, stock=False) is Holder.CALLER]
        stock = [
            uuid
            for uuid in snapshot.uuids
            if access.holder_of(scope.user_id, owners.get(uuid), stock=snapshot.is_stock(uuid)) is Holder.STOCK
        ]
        visible: list[OwnedResource | str] = [*own, *stock]
        start = (page - 1) * page_size
        items = await _items(scope, snapshot, visible[start : start + page_size])
        if items is not None:
            break
    return {
        "success": True,
        "page": page,
        "num_pages": max(1, math.ceil(len(visible) / page_size)),
        "page_size": page_size,
        "total_count": len(visible),
        "items": items,
    }


async def _items(scope: Scope, snapshot: Snapshot, entries: list[OwnedResource | str]) -> list[dict[str, Any]] | None:
    """The page's items; None when one of the caller's voices turned out gone (its row is retired by then)."""
    items: list[dict[str, Any]] = []
    for entry in entries:
        uuid = entry if isinstance(entry, str) else entry.upstream_id
        item = snapshot.item(uuid)
        if item is None:
            assert isinstance(entry, OwnedResource)  # stock entries come from the snapshot itself
            try:  # created since the snapshot was taken
                item = ownership.item_of(await ownership.fetch(scope, entry))
            except NotFound:
                return None
        items.append(item)
    return items


async def get(scope: Scope, catalogue: VoiceCatalogue, voice_uuid: str) -> dict[str, Any]:
    """One voice the caller may use, `{success, item}`; the caller's own is always asked of Resemble."""
    granted = await access.ensure_usable(scope.session, catalogue, scope.user_id, voice_uuid)
    if granted.resource is not None:
        return await ownership.fetch(scope, granted.resource)
    item = (await catalogue.snapshot()).item(voice_uuid)
    if item is None:  # the snapshot was refreshed in between and no longer holds it
        raise NotFound(access.VOICE_NOT_FOUND)
    return {"success": True, "item": item}
