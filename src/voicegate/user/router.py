from __future__ import annotations

from fastapi import APIRouter

from voicegate.auth.dependencies import CurrentUser
from voicegate.deps import SessionDep
from voicegate.user import service
from voicegate.user.schemas import UsageRead

router = APIRouter(prefix="/user", tags=["user"])


@router.get("/usage")
async def usage(user: CurrentUser, session: SessionDep) -> UsageRead:
    """The caller's remaining credit and what they have spent, per capability."""
    return await service.usage_summary(session, user.id)
