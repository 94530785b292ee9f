"""Inbound Resemble callbacks: verify, store once, answer fast, then re-fetch the job from Resemble and settle it.

The sequence is fixed: the per-job token in the URL must match; when RESEMBLE_WEBHOOK_SECRET is set the
`X-Resemble-Signature` HMAC-SHA256 over the raw body must match too (constant-time); the delivery is stored
insert-or-ignore under `(source, external_id)`; only a new row is handled. Handling never trusts the body: it asks
Resemble for the job, so a forged or replayed callback cannot complete or bill anything.
"""

from __future__ import annotations

import hashlib
import hmac
import logging

from sqlalchemy.ext.asyncio import AsyncSession

from voicegate.errors import NotFound, Unauthorized
from voicegate.kit.ids import new_id
from voicegate.kit.time import utc_now
from voicegate.resemble.jobs import repository, service
from voicegate.resemble.jobs.kinds import KINDS

log = logging.getLogger(__name__)

SOURCE = "resemble"


def signature_matches(secret: str, body: bytes, header: str | None) -> bool:
    if not header:
        return False
    given = header.strip().removeprefix("sha256=")
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(given.lower(), expected)


async def receive(
    session: AsyncSession, *, token: str, body: bytes, signature: str | None, secret: str | None
) -> tuple[str | None, bool]:
    """Store one delivery (the caller commits). Returns (event id to handle or None for a duplicate, signed?)."""
    job = await repository.get_by_callback_token(session, token)
    if job is None:
        raise NotFound("Unknown callback")
    if secret is not None and not signature_matches(secret, body, signature):
        raise Unauthorized("Invalid webhook signature")
    event_id = new_id()
    inserted = await repository.store_callback_event(
        session,
        {
            "id": event_id,
            "source": SOURCE,
            "external_id": f"{job.id}:{hashlib.sha256(body).hexdigest()}",
            "job_id": job.id,
            "signature_valid": secret is not None,
            "payload": body.decode("utf-8", errors="replace"),
            "created_at": utc_now(),
        },
    )
    return (event_id if inserted else None), secret is not None


async def handle(deps: service.JobDeps, event_id: str) -> None:
    """Settle the job an event points at, by asking Resemble; mark the event handled."""
    session = deps.session
    event = await repository.get_callback_event(session, event_id)
    if event is None or event.handled_at is not None or event.job_id is None:
        return
    job = await repository.get(session, event.job_id)
    if job is not None:
        await service.refresh(deps, KINDS[job.capability], job)
    await repository.mark_callback_handled(session, event_id, now=utc_now())
    await session.commit()
