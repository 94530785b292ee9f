"""Resemble's account plans as the simulator enforces them: on Flex, Business-only calls answer 403.

The check is keyed on method and path alone, so it holds for a route whether or not the simulator implements it
(an unimplemented Business-only route answers 403 on Flex, 404 on Business). The streaming WebSocket is refused
at the handshake, which a server reports as HTTP 403.
"""

from __future__ import annotations

import re
from typing import Literal, get_args

Plan = Literal["flex", "business"]
PLANS: tuple[Plan, ...] = get_args(Plan)
DEFAULT_PLAN: Plan = "flex"

BUSINESS_PLAN_MESSAGE = (
    "This feature requires a Business plan or above; upgrade your Resemble plan to use voice creation, "
    "voice design and streaming"
)

_UUID = r"[^/]+"
# (method, path): voice creation, training and deletion, voice design and its promotion, WebSocket streaming.
BUSINESS_ONLY: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (method, re.compile(path))
    for method, path in (
        ("POST", r"^/api/v2/voices/?$"),
        ("POST", rf"^/api/v2/voices/{_UUID}/build/?$"),
        ("DELETE", rf"^/api/v2/voices/{_UUID}/?$"),
        ("POST", r"^/api/v2/voice-design/?$"),
        ("POST", rf"^/api/v2/voice-design/{_UUID}/{_UUID}/(create_rapid_voice|create)/?$"),
        ("WEBSOCKET", r"^/stream/?$"),
    )
)


def needs_business(method: str, path: str) -> bool:
    """Whether `method path` is a Business-only call (`method` is `WEBSOCKET` for a WebSocket handshake)."""
    return any(method == wanted and pattern.search(path) for wanted, pattern in BUSINESS_ONLY)


def allows(plan: Plan, method: str, path: str) -> bool:
    return plan == "business" or not needs_business(method, path)
