"""One flat scan from a request to the operation that answers it.

FastAPI keeps included routers as a tree. For each request it matches every level twice (once to pick the branch,
once more inside it) and re-reads each level's route version on the way: on our five-level tree that was ~1 ms of
CPU per request, a third of a cached voice listing. The leaves of that tree are what every request ends at: one
per operation, with its full path, its methods, and its handler (dependencies, body limit) already built by
FastAPI. `FlatDispatch` scans the leaves in the tree's order and hands the first full match to that leaf's handler,
setting up the request scope exactly as the tree does on its way down.

Everything else goes to the tree, which answers it as it always did: a path whose method is not allowed (405, or a
later leaf the tree finds), a WebSocket, a route that is not an operation (a mount, a plain route), the
trailing-slash redirect, a 404. A router with form limits would need its limits applied on the way down, so a tree
holding one is never flattened. The leaves are read once, and again whenever routes are added to the app's router.
They are filed by their first literal path segments, so a request is compared with the few leaves that could match
it (and those whose path starts with a parameter), not all of them, in the same order.

The names used here are FastAPI's own (`fastapi.routing`, `fastapi.telemetry`) at the version uv.lock pins; the
dispatch tests prove the flat path chooses exactly what the tree chooses, for every route in the app.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import routing as fastapi_routing
from fastapi.routing import APIRoute, APIRouter
from fastapi.telemetry._api import _route_selected
from starlette.routing import BaseRoute, Match, get_route_path
from starlette.types import ASGIApp, Receive, Scope, Send

_IncludedRouter = fastapi_routing._IncludedRouter
_EFFECTIVE_CONTEXT = fastapi_routing._FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY


# Leaves are filed under their first KEY_SEGMENTS literal path segments.
KEY_SEGMENTS = 4
Key = tuple[str, ...]


@dataclass(frozen=True)
class _Leaf:
    """An operation (its effective context, as FastAPI built it), or any other route: a match there is the tree's."""

    context: Any
    operation: bool

    @property
    def key(self) -> Key | None:
        """The first path segments every path this leaf matches starts with, or None when a parameter comes first
        (the leaf may match any path). A literal path shorter than the key is its own key."""
        path = getattr(self.context, "path_format", None)
        if not isinstance(path, str) or not path.startswith("/"):
            return None
        segments = path[1:].split("/")
        literal: list[str] = []
        for segment in segments:
            if "{" in segment:
                break
            literal.append(segment)
        if len(literal) >= KEY_SEGMENTS:
            return tuple(literal[:KEY_SEGMENTS])
        return tuple(literal) if len(literal) == len(segments) else None


@dataclass(frozen=True)
class _Table:
    filed: dict[Key, tuple[_Leaf, ...]]
    anywhere: tuple[_Leaf, ...]  # the leaves filed under no key: all a path under no key can reach

    @classmethod
    def of(cls, leaves: tuple[_Leaf, ...]) -> _Table:
        keys = {leaf.key for leaf in leaves} - {None}
        filed = {key: tuple(leaf for leaf in leaves if leaf.key in (key, None)) for key in keys if key is not None}
        return cls(filed=filed, anywhere=tuple(leaf for leaf in leaves if leaf.key is None))

    def candidates(self, path: str) -> tuple[_Leaf, ...]:
        segments = tuple(path[1:].split("/", KEY_SEGMENTS)[:KEY_SEGMENTS])
        return self.filed.get(segments, self.anywhere)


class _NotFlat(Exception):
    """The tree holds something a flat scan would not apply (form limits)."""


def _table(routes: list[BaseRoute]) -> _Table | None:
    out: list[_Leaf] = []

    def walk(candidates: list[Any]) -> None:
        for candidate in candidates:
            if isinstance(candidate, _IncludedRouter):
                if candidate.include_context.form_limits:
                    raise _NotFlat
                walk(candidate.effective_candidates())
            elif isinstance(getattr(candidate, "original_route", None), APIRoute) and candidate.app is not None:
                out.append(_Leaf(candidate, operation=True))
            else:
                out.append(_Leaf(candidate, operation=False))

    try:
        walk(list(routes))
    except _NotFlat:
        return None
    return _Table.of(tuple(out))


class FlatDispatch:
    """The app router's dispatch: the flat scan first, the tree for whatever the scan does not answer."""

    def __init__(self, router: APIRouter, tree: ASGIApp) -> None:
        self._router = router
        self._tree = tree
        self._read_at = -1
        self._table: _Table | None = None

    def _current(self) -> _Table | None:
        routes = self._router.routes
        if len(routes) != self._read_at:
            self._table = None if self._router.form_limits else _table(routes)
            self._read_at = len(routes)
        return self._table

    def choose(self, scope: Scope) -> Any | None:
        """The effective context of the operation the tree would run for this request, or None: ask the tree."""
        if scope["type"] != "http":
            return None
        table = self._current()
        if table is None:
            return None
        path = get_route_path(scope)
        for leaf in table.candidates(path):
            context = leaf.context
            if not leaf.operation:
                if context.matches(scope)[0] is not Match.NONE:
                    return None
                continue
            if context.path_regex.match(path) is None:
                continue
            if context.methods and scope["method"] not in context.methods:
                return None  # the tree decides: a later leaf for this method, or 405
            return context
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        context = self.choose(scope)
        if context is None:
            await self._tree(scope, receive, send)
            return
        match, child_scope = context.matches(scope)
        if match is not Match.FULL:  # pragma: no cover - choose() saw the path and the method match
            await self._tree(scope, receive, send)
            return
        scope.setdefault("router", self._router)
        fastapi_routing._update_scope(scope, child_scope)
        _route_selected(scope=scope, path=context.path_format)
        fastapi_routing._get_fastapi_scope(scope)[_EFFECTIVE_CONTEXT] = context
        scope["route"] = context.original_route
        await context.app(scope, receive, send)
