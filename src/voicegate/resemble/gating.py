"""The Business-plan gate (seed: business-plan gating): refuse plan-restricted routes before calling upstream."""

from __future__ import annotations

from voicegate.deps import SettingsDep
from voicegate.errors import PlanGated


async def require_business_plan(settings: SettingsDep) -> None:
    """While RESEMBLE_BUSINESS_PLAN_ACTIVE is false, answer 503 "Business-plan ..." without spending quota."""
    if not settings.resemble_business_plan_active:
        raise PlanGated()
