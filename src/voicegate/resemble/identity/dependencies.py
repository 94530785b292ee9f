from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from voicegate.deps import RateCardDep, SettingsDep, StorageDep
from voicegate.resemble.identity.service import IdentityDeps
from voicegate.resemble.ownership.dependencies import ScopeDep


async def get_identity_deps(
    scope: ScopeDep, storage: StorageDep, settings: SettingsDep, rate_card: RateCardDep
) -> IdentityDeps:
    return IdentityDeps(scope=scope, storage=storage, settings=settings, rate_card=rate_card)


IdentityDepsDep = Annotated[IdentityDeps, Depends(get_identity_deps)]
