"""Which capability the upstream calls made now serve, so metrics can say where Resemble's time goes.

A request names it once (the rate-limit dependency, which every capability route has); work outside a request
(the job poller, renewals) scopes it around the item it handles. The HTTP metrics middleware starts every request
from "none" and restores the enclosing value afterwards, so a request served inside another one in the same task
(the in-process simulator calling back) does not leak its capability into its caller.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar, Token

NONE = "none"

_capability: ContextVar[str] = ContextVar("voicegate_capability", default=NONE)


def current_capability() -> str:
    return _capability.get()


def serve(capability: str) -> None:
    """Name the capability for the rest of the current request."""
    _capability.set(capability)


def enter(capability: str = NONE) -> Token[str]:
    return _capability.set(capability)


def leave(token: Token[str]) -> None:
    _capability.reset(token)


@contextlib.contextmanager
def scope(capability: str) -> Iterator[None]:
    """Name the capability for the calls made inside the block."""
    token = enter(capability)
    try:
        yield
    finally:
        leave(token)
