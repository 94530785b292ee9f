from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Request, status

from voicegate.deps import SessionDep, SettingsDep
from voicegate.errors import described
from voicegate.jobs.queue import JobQueueDep
from voicegate.resemble.jobs import callbacks
from voicegate.resemble.jobs.schemas import CallbackAck

router = APIRouter(prefix="/webhooks/resemble", tags=["webhooks"])


@router.post(
    "/{token}",
    status_code=status.HTTP_202_ACCEPTED,
    responses=described({401: "Bad signature", 404: "Unknown callback"}),
)
async def resemble_callback(
    token: Annotated[str, Path(min_length=16, max_length=64)],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    queue: JobQueueDep,
    x_resemble_signature: Annotated[str | None, Header()] = None,
) -> CallbackAck:
    """Resemble's job callback: verified, stored once, and handled once the row is committed (after the answer)."""
    secret = settings.resemble_webhook_secret.get_secret_value() if settings.resemble_webhook_secret else None
    event_id, signed = await callbacks.receive(
        session, token=token, body=await request.body(), signature=x_resemble_signature, secret=secret
    )
    if event_id is not None:
        queue.enqueue(session, "jobs.handle_callback", event_id)
    return CallbackAck(received=True, duplicate=event_id is None, signed=signed)
