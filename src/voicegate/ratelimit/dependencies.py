from __future__ import annotations

from voicegate.auth.dependencies import CurrentUser
from voicegate.deps import AccountDep, ResourcesDep
from voicegate.kit.capability import serve as serve_capability
from voicegate.ratelimit.rules import Capability


class RateLimit:
    """`Depends(RateLimit("tts"))`: one hit per request in the caller's `(user, capability)` window, or 429.

    The cap is the one for the caller's tier, which travels with the cached principal (see `auth.service`). Calls
    made with the caller's own Resemble key count in a window of their own, `<capability>:byok`, under the same cap:
    the per-user cap still applies, but that traffic does not use up the user's share of the gateway's account."""

    def __init__(self, capability: str) -> None:
        self.capability = Capability(capability)

    async def __call__(self, resources: ResourcesDep, user: CurrentUser, account: AccountDep) -> None:
        serve_capability(self.capability.value)  # the request's upstream calls are timed under it
        window = f"{self.capability.value}:byok" if account.byok else None
        await resources.limiter.check_or_raise(user.id, self.capability, user.tier, window=window)
