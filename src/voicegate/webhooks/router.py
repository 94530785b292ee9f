from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from voicegate.auth.dependencies import CurrentUser
from voicegate.deps import SessionDep
from voicegate.errors import described
from voicegate.webhooks import service
from voicegate.webhooks.schemas import DeliveryPage, DeliveryRead, WebhookSecretRead

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

NO_STORE = "no-store"


@router.get("/secret")
async def get_secret(user: CurrentUser, session: SessionDep, response: Response) -> WebhookSecretRead:
    """The caller's signing secret for callbacks (Standard Webhooks), created on first call."""
    response.headers["Cache-Control"] = NO_STORE
    return WebhookSecretRead(secret=await service.get_or_create_secret(session, user.id))


@router.post("/secret/rotate")
async def rotate_secret(user: CurrentUser, session: SessionDep, response: Response) -> WebhookSecretRead:
    """Replace the signing secret; the old one stops signing immediately, retries included."""
    response.headers["Cache-Control"] = NO_STORE
    return WebhookSecretRead(secret=await service.rotate_secret(session, user.id))


@router.get("/deliveries")
async def list_deliveries(
    user: CurrentUser,
    session: SessionDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> DeliveryPage:
    """The caller's callback deliveries, newest first."""
    rows, total = await service.list_deliveries(session, user.id, page=page, page_size=page_size)
    return DeliveryPage(
        items=[DeliveryRead.model_validate(row) for row in rows], page=page, page_size=page_size, total=total
    )


@router.get("/deliveries/{delivery_id}", responses=described({404: "Unknown delivery"}))
async def get_delivery(
    user: CurrentUser, session: SessionDep, delivery_id: Annotated[str, Path(max_length=64)]
) -> DeliveryRead:
    return DeliveryRead.model_validate(await service.get_delivery(session, user.id, delivery_id))
