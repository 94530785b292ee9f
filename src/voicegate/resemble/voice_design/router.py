from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from voicegate.ratelimit.dependencies import RateLimit
from voicegate.resemble.gating import require_business_plan
from voicegate.resemble.ownership.dependencies import Owned
from voicegate.resemble.ownership.kinds import Kind
from voicegate.resemble.ownership.repository import OwnedResource
from voicegate.resemble.ownership.schemas import error_responses
from voicegate.resemble.voice_design import service
from voicegate.resemble.voice_design.schemas import CandidatesCreate, CandidatesRead, PromoteCreate, Promoted
from voicegate.resemble.voices.router import Deps

router = APIRouter(
    prefix="/resemble/voice-design",
    tags=["voice design"],
    dependencies=[Depends(RateLimit("voice_design")), Depends(require_business_plan)],
)

DesignDep = Annotated[OwnedResource, Depends(Owned(Kind.VOICE_DESIGN, "design_uuid"))]


@router.post("/candidates", response_model=CandidatesRead, responses=error_responses(402))
async def generate_candidates(deps: Deps, body: CandidatesCreate) -> dict[str, Any]:
    """Generate candidate voices from a description (billed per generation)."""
    return await service.generate(deps, body)


@router.post("/{design_uuid}/promote", response_model=Promoted, responses=error_responses(402))
async def promote(deps: Deps, design: DesignDep, body: PromoteCreate) -> dict[str, Any]:
    """Make one candidate a rapid voice of yours; its first month is charged now."""
    return await service.promote(deps, design, body)
