from __future__ import annotations

from voicegate.auth.dependencies import CurrentUser
from voicegate.auth.service import CallerUser
from voicegate.byok.service import Account
from voicegate.deps import AccountDep, ResourcesDep
from voicegate.kit.capability import serve as serve_capability
from voicegate.ratelimit.rules import Capability
from voicegate.resources import Resources


class RateLimit:
    """`Depends(RateLimit("tts"))`: one hit per request in the caller's `(user, capability)` window, or 429.

    The cap is the one for the caller's tier, which travels with the cached principal (see `auth.service`). Calls
    made with the caller's own Resemble key count in a window of their own, `<capability>:byok`, under the same cap:
    the per-user cap still applies, but that traffic does not use up the user's share of the gateway's account."""

    def __init__(self, capability: str) -> None:
        self.capability = Capability(capability)

    async def __call__(self, resources: ResourcesDep, user: CurrentUser, account: AccountDep) -> None:
        await limit(resources, user, self.capability, account)


async def limit(resources: Resources, user: CallerUser, capability: Capability, account: Account) -> None:
    """One hit in the window of `account`'s traffic; for routes that learn the account from the body (the hub's
    per-request `byok_api_key`) and so cannot use the `RateLimit` dependency."""
    serve_capability(capability.value)  # the request's upstream calls are timed under it
    window = f"{capability.value}:byok" if account.byok else None
    await resources.limiter.check_or_raise(user.id, capability, user.tier, window=window)
