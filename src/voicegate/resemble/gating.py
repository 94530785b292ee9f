"""The Business-plan gate (seed: business-plan gating): refuse plan-restricted routes before calling upstream."""

from __future__ import annotations

from voicegate.deps import ResourcesDep
from voicegate.errors import PlanGated
from voicegate.runtime_settings.registry import BUSINESS_PLAN_ACTIVE


async def require_business_plan(resources: ResourcesDep) -> None:
    """While `business_plan_active` is off (RESEMBLE_BUSINESS_PLAN_ACTIVE, or as an admin last set it), answer
    503 "Business-plan ..." without spending quota. Read from the process's runtime-settings snapshot."""
    if not await resources.runtime_settings.value(BUSINESS_PLAN_ACTIVE):
        raise PlanGated()
