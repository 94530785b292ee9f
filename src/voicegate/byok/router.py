from __future__ import annotations

from fastapi import APIRouter, Response, status

from voicegate.auth.dependencies import CurrentUser
from voicegate.byok import service
from voicegate.byok.schemas import ByokPut, ByokRead
from voicegate.deps import ResourcesDep, SessionDep
from voicegate.errors import described

router = APIRouter(prefix="/user/byok", tags=["bring your own key"])

ERRORS = described(
    {
        400: "Bring-your-own-key is not enabled on this gateway",
        404: "No key of yours is stored",
        422: "Invalid input, or Resemble rejected this API key",
        502: "Resemble upstream error",
        503: "Resemble is unavailable",
    }
)


@router.put("/resemble", responses=ERRORS)
async def put_resemble_key(body: ByokPut, user: CurrentUser, session: SessionDep, resources: ResourcesDep) -> ByokRead:
    """Store your own Resemble API key: checked with Resemble first, then kept encrypted. From then on your calls go
    to Resemble with it and are charged only the platform fee. Replaces a key stored before."""
    return await service.store(session, resources.byok, user.id, body.api_key)


@router.get("/resemble", responses=ERRORS)
async def get_resemble_key(user: CurrentUser, session: SessionDep) -> ByokRead:
    """Your stored Resemble key: its last four characters and when it was stored and checked (never the key)."""
    return await service.read(session, user.id)


@router.delete("/resemble", status_code=status.HTTP_204_NO_CONTENT, response_class=Response, responses=ERRORS)
async def delete_resemble_key(user: CurrentUser, session: SessionDep, resources: ResourcesDep) -> Response:
    """Remove your stored Resemble key: your later calls use the gateway's account and its rate card again."""
    await service.remove(session, resources.byok, user.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
