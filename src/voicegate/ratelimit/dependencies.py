from __future__ import annotations

from fastapi import Request

from voicegate.auth.dependencies import CurrentUser
from voicegate.ratelimit.rules import Capability


class RateLimit:
    """`Depends(RateLimit("tts"))`: one hit per request in the caller's `(user, capability)` window, or 429."""

    def __init__(self, capability: str) -> None:
        self.capability = Capability(capability)

    async def __call__(self, request: Request, user: CurrentUser) -> None:
        await request.app.state.limiter.check_or_raise(user.id, self.capability)
