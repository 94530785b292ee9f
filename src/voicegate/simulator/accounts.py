"""Objects an account creates (projects, clips, agents, agent tools and webhooks, knowledge items, voice designs),
kept per API key.

Resemble scopes these to the team behind the key, and its list endpoints return the whole team's objects: the
simulator does the same, so a gateway sharing one key across many users can only keep them apart itself.
"""

from __future__ import annotations

import copy
import threading
import uuid as uuid_module
from collections import defaultdict
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import Headers
from starlette.requests import HTTPConnection

from .auth import extract_key

Item = dict[str, Any]

current_account: ContextVar[str | None] = ContextVar("simulator_account", default=None)
"""The key of the account serving the current request (set by the middleware once the key is accepted)."""


def new_uuid() -> str:
    return uuid_module.uuid4().hex[:8] + uuid_module.uuid4().hex[:8]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Collection:
    """One ordered id -> item map (items are copied in and out, so callers never share state)."""

    def __init__(self, lock: threading.Lock) -> None:
        self._lock = lock
        self._items: dict[str, Item] = {}

    def add(self, key: str, item: Item) -> Item:
        with self._lock:
            self._items[key] = copy.deepcopy(item)
            return copy.deepcopy(item)

    def get(self, key: str) -> Item | None:
        with self._lock:
            found = self._items.get(key)
            return copy.deepcopy(found) if found is not None else None

    def update(self, key: str, changes: Item) -> Item | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None
            found.update(copy.deepcopy(changes))
            return copy.deepcopy(found)

    def remove(self, key: str) -> Item | None:
        with self._lock:
            return self._items.pop(key, None)

    def all(self) -> list[Item]:
        with self._lock:
            return copy.deepcopy(list(self._items.values()))

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


class Account:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.projects = Collection(self._lock)
        self.agents = Collection(self._lock)
        self.knowledge_items = Collection(self._lock)
        self.voice_designs = Collection(self._lock)
        self._clips: dict[str, Collection] = defaultdict(lambda: Collection(self._lock))
        self._tools: dict[str, Collection] = defaultdict(lambda: Collection(self._lock))
        self._webhooks: dict[str, Collection] = defaultdict(lambda: Collection(self._lock))

    def clips(self, project_uuid: str) -> Collection:
        return self._clips[project_uuid]

    def tools(self, agent_uuid: str) -> Collection:
        return self._tools[agent_uuid]

    def webhooks(self, agent_uuid: str) -> Collection:
        return self._webhooks[agent_uuid]

    def drop_project(self, project_uuid: str) -> None:
        self._clips.pop(project_uuid, None)

    def drop_agent(self, agent_uuid: str) -> None:
        self._tools.pop(agent_uuid, None)
        self._webhooks.pop(agent_uuid, None)


class Accounts:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._accounts: dict[str, Account] = {}

    def for_key(self, key: str) -> Account:
        with self._lock:
            return self._accounts.setdefault(key, Account())


def account_of(conn: HTTPConnection) -> Account:
    """The caller's account; the middleware has already checked that a key is present and valid."""
    accounts = conn.app.state.accounts
    assert isinstance(accounts, Accounts)
    return accounts.for_key(extract_key(Headers(scope=conn.scope)) or "")
