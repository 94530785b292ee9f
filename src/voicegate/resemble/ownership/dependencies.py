"""`Owned(kind, param)`: the one way a route turns an upstream id from its path into the caller's object.

An id the caller does not own answers 404 exactly like an unknown one, and before anything is sent upstream. A
nested kind (`Owned(Kind.CLIP, "clip_uuid", parent=...)`) is found only under the parent the caller named, which
is itself resolved the same way first.
"""

# No `from __future__ import annotations` here: the loaders' annotations name the path parameter through a
# closure variable, so FastAPI must see them evaluated.
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Path

from voicegate.auth.dependencies import CurrentUser
from voicegate.deps import SessionDep, UpstreamDep
from voicegate.errors import NotFound
from voicegate.resemble.ownership import repository
from voicegate.resemble.ownership.calls import Scope
from voicegate.resemble.ownership.kinds import SPECS, UPSTREAM_ID_PATTERN, Kind
from voicegate.resemble.ownership.repository import OwnedResource

Loader = Callable[..., Awaitable[OwnedResource]]


def Owned(kind: Kind, param: str, *, parent: Loader | None = None) -> Loader:
    """A dependency that loads the caller's live `kind` row named by path parameter `param`, or raises 404."""
    label = SPECS[kind].label

    async def resolve(user_id: str, upstream_id: str, session: SessionDep) -> OwnedResource:
        found = await repository.find(session, kind, upstream_id, user_id)
        # End the read now: the upstream call comes next, and SQLite cannot upgrade a stale read to a write.
        if session.in_transaction():
            await session.commit()
        if found is None:
            raise NotFound(f"{label} not found")
        return found

    if parent is None:

        async def load(
            user: CurrentUser,
            session: SessionDep,
            upstream_id: Annotated[str, Path(alias=param, pattern=UPSTREAM_ID_PATTERN)],
        ) -> OwnedResource:
            return await resolve(user.id, upstream_id, session)

        return _named(load, kind, param)

    async def load_nested(
        user: CurrentUser,
        session: SessionDep,
        upstream_id: Annotated[str, Path(alias=param, pattern=UPSTREAM_ID_PATTERN)],
        owner: Annotated[OwnedResource, Depends(parent)],
    ) -> OwnedResource:
        found = await resolve(user.id, upstream_id, session)
        if found.parent is None or found.parent.id != owner.id:
            raise NotFound(f"{label} not found")
        return found

    return _named(load_nested, kind, param)


def _named(loader: Loader, kind: Kind, param: str) -> Loader:
    """Mark the loader so the route lint (tests) can see which path parameter it resolves."""
    loader.__name__ = f"owned_{kind.value}_{param}"
    marked: Any = loader
    marked.owned_kind, marked.owned_param = kind, param
    return loader


async def get_scope(user: CurrentUser, session: SessionDep, upstream: UpstreamDep) -> Scope:
    return Scope(session=session, upstream=upstream, user_id=user.id)


ScopeDep = Annotated[Scope, Depends(get_scope)]
