"""Erase one user (GDPR) in one call, used by `DELETE /api/v1/admin/users/{id}` and `voicegate users erase`.

The steps run in this order, each recording its progress in the `user_erasure` row as it goes:

1. `keys`: revoke every key (this process forgets them at once, others within the credential cache's 5 s);
2. `jobs`: fail the open jobs and give their holds back, so no poll, callback or mirror acts for the user again;
3. `resources`: delete at Resemble every object the user owns (children first; a 404 counts as gone), which also
   ends the monthly billing of their voices;
4. `job_media`: delete the user's job records at Resemble where it offers a delete (detects);
5. `objects`: delete every stored object under each `{prefix}{user_id}/` and `_deleted/{prefix}{user_id}/`;
6. `rows`: mark the asset rows deleted and strip personal data from the rows that stay (the user's email becomes
   a pseudonym). The ledger and usage rows stay, tied to the pseudonymous id.

A step that fails (Resemble or storage down) stops the run with an error naming it; everything done so far is
committed, so the next call resumes with the step that failed. Every step is safe to repeat; one run at a time
holds the erasure (a lease renewed with each progress write, so a run that died is resumed once it lapses). Once
all have run the report is stored, and later calls answer it without doing anything again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from voicegate.auth.service import CredentialCache
from voicegate.db.models import User
from voicegate.erasure import repository
from voicegate.erasure.repository import ErasureState
from voicegate.erasure.schemas import ErasureReport
from voicegate.errors import Conflict, GatewayError, NotFound
from voicegate.kit.time import utc_now
from voicegate.resemble.jobs import repository as jobs_repository
from voicegate.resemble.jobs.service import stop_open_jobs
from voicegate.resemble.ownership import repository as owned
from voicegate.resemble.ownership import service as ownership
from voicegate.resemble.ownership.calls import CallName, Scope, attempt, is_gone, record
from voicegate.resemble.ownership.kinds import Kind
from voicegate.storage import keys
from voicegate.storage.base import StorageBackend, StorageError
from voicegate.upstream import jobs as wire
from voicegate.upstream.client import ResembleClient

log = logging.getLogger(__name__)

STOPPED_REASON = "user erased"
# Children before their parents, so each is deleted by its own call even where Resemble would cascade.
ERASE_ORDER: tuple[Kind, ...] = (
    Kind.CLIP,
    Kind.AGENT_TOOL,
    Kind.AGENT_WEBHOOK,
    Kind.RECORDING,
    Kind.PROJECT,
    Kind.AGENT,
    Kind.KNOWLEDGE_ITEM,
    Kind.VOICE,
    Kind.IDENTITY,
    Kind.VOICE_DESIGN,
)
NOT_DELETABLE_UPSTREAM = frozenset({Kind.VOICE_DESIGN})  # Resemble's API has no delete for voice designs
OBJECT_BATCH = 100  # objects deleted between two progress writes
JOB_BATCH = 100
# How long a run holds the erasure without saving progress (each save renews it); a run that died is resumable
# once it lapses. One object delete or upstream call takes well under a second, so this is ample.
LEASE = timedelta(minutes=2)


@dataclass(frozen=True)
class ErasureDeps:
    session: AsyncSession
    storage: StorageBackend
    upstream: ResembleClient
    credentials: CredentialCache | None = None
    """This process's credential cache: the user's keys are forgotten at once (other processes within its TTL)."""


class ErasureIncomplete(GatewayError):
    """A step could not finish; what was done is kept and the next call resumes."""

    status_code = 502


class Progress:
    """The per-step state of one erasure, written to its row (and committed) each time it changes."""

    def __init__(self, session: AsyncSession, state: ErasureState) -> None:
        self._session = session
        self._erasure_id = state.id
        self.steps: dict[str, dict[str, Any]] = {name: dict(value) for name, value in state.steps.items()}

    def of(self, step: str) -> dict[str, Any]:
        return dict(self.steps.get(step, {}))

    def done(self, step: str) -> bool:
        return bool(self.steps.get(step, {}).get("done"))

    async def save(self, step: str, **values: Any) -> None:
        self.steps = {**self.steps, step: {**self.of(step), **values}}
        await repository.save_steps(self._session, self._erasure_id, self.steps, until=utc_now() + LEASE)
        await self._session.commit()


Step = Callable[[ErasureDeps, str, Progress], Awaitable[None]]


async def erase_user(deps: ErasureDeps, user_id: str, *, actor: str) -> ErasureReport:
    """Erase the user, or finish an erasure that stopped half-way; a finished one answers its stored report."""
    session = deps.session
    if await session.get(User, user_id) is None:
        raise NotFound("User not found")
    now = utc_now()
    resumed = not await repository.start(session, user_id, actor=actor, now=now)
    state = await repository.find(session, user_id)
    assert state is not None
    if state.report is not None:
        await session.commit()
        return ErasureReport.model_validate(state.report)
    if not await repository.claim(session, state.id, now=now, until=now + LEASE, resumed=resumed):
        await session.rollback()
        raise Conflict("An erasure of this user is running; call again once it has stopped")
    state = await repository.find(session, user_id)
    assert state is not None
    await session.commit()
    log.info("user_erasure_started", extra={"user_id": user_id, "actor": actor, "attempt": state.attempts})
    progress = Progress(session, state)
    for name, step in STEPS:
        if progress.done(name):
            continue
        try:
            await step(deps, user_id, progress)
        except (GatewayError, StorageError) as exc:
            await session.rollback()
            await repository.release(session, state.id)
            await session.commit()
            detail = exc.detail if isinstance(exc, GatewayError) else "storage unavailable"
            log.warning("user_erasure_interrupted", extra={"user_id": user_id, "step": name, "error": detail})
            raise ErasureIncomplete(
                f"Erasure stopped at step '{name}' ({detail}); what was removed is kept, call again to resume",
                status_code=exc.status_code if isinstance(exc, GatewayError) and exc.status_code >= 500 else None,
            ) from exc
    return await _finish(session, state, progress)


async def _finish(session: AsyncSession, state: ErasureState, progress: Progress) -> ErasureReport:
    now = utc_now()
    steps = progress.steps
    objects = dict(steps["objects"].get("removed", {}))
    report = ErasureReport(
        user_id=state.user_id,
        status="erased",
        actor=state.actor,
        started_at=state.started_at,
        finished_at=now,
        attempts=state.attempts,
        keys_revoked=steps["keys"]["revoked"],
        jobs_stopped=steps["jobs"]["stopped"],
        objects_removed=objects,
        objects_removed_total=sum(objects.values()),
        resources_deleted=steps["resources"]["retired"],
        resources_not_deletable_upstream=sorted(kind.value for kind in NOT_DELETABLE_UPSTREAM),
        job_records_deleted_upstream=steps["job_media"].get("deleted", {}),
        job_records_kept_upstream=steps["job_media"].get("kept", {}),
        rows={name: value for name, value in steps["rows"].items() if name != "done"},
        kept=await repository.kept_financial_rows(session, state.user_id),
    )
    await repository.finish(session, state.id, report=report.model_dump(mode="json"), now=now)
    await session.commit()
    log.info("user_erasure_finished", extra={"user_id": state.user_id, "actor": state.actor})
    return report


async def _revoke_keys(deps: ErasureDeps, user_id: str, progress: Progress) -> None:
    revoked = await repository.revoke_keys(deps.session, user_id, now=utc_now())
    await progress.save("keys", revoked=progress.of("keys").get("revoked", 0) + revoked, done=True)
    if deps.credentials is not None:
        for key_id in await repository.key_ids(deps.session, user_id):
            deps.credentials.forget(key_id)
        await deps.session.commit()


async def _stop_jobs(deps: ErasureDeps, user_id: str, progress: Progress) -> None:
    stopped = await stop_open_jobs(deps.session, user_id, reason=STOPPED_REASON)
    await progress.save("jobs", stopped=progress.of("jobs").get("stopped", 0) + stopped, done=True)


async def _delete_resources(deps: ErasureDeps, user_id: str, progress: Progress) -> None:
    session = deps.session
    scope = Scope(session=session, upstream=deps.upstream, user_id=user_id)
    for kind in ERASE_ORDER:
        if kind in NOT_DELETABLE_UPSTREAM:
            await repository.retire_resources(session, user_id, kind.value, now=utc_now())
            await session.commit()
            continue
        live = await owned.live_of_user(session, kind, user_id)
        await session.commit()  # end the read: upstream calls follow
        for resource in live:
            await ownership.delete(scope, resource)
    state = await repository.find(session, user_id)
    assert state is not None
    retired = await repository.resources_retired_since(session, user_id, state.started_at)
    await progress.save("resources", retired=retired, done=True)


async def _delete_job_records(deps: ErasureDeps, user_id: str, progress: Progress) -> None:
    session = deps.session
    scope = Scope(session=session, upstream=deps.upstream, user_id=user_id)
    step = progress.of("job_media")
    after: str = step.get("after", "")
    deleted: dict[str, int] = dict(step.get("deleted", {}))
    kept: dict[str, int] = dict(step.get("kept", {}))
    while batch := await jobs_repository.upstream_jobs_of_user(session, user_id, after_id=after, limit=JOB_BATCH):
        await session.commit()
        for job_id, capability, upstream_id in batch:
            path = wire.delete_path(capability, upstream_id)
            if path is None:
                kept[capability] = kept.get(capability, 0) + 1
            else:
                outcome = await attempt(scope, "DELETE", path, CallName(capability, f"erase_{capability}"))
                record(scope, outcome)
                if outcome.error is not None and not is_gone(outcome.error):
                    await session.commit()
                    raise outcome.error
                deleted[capability] = deleted.get(capability, 0) + 1
            after = job_id
            await progress.save("job_media", after=after, deleted=deleted, kept=kept)
    await progress.save("job_media", after=after, deleted=deleted, kept=kept, done=True)


async def _delete_objects(deps: ErasureDeps, user_id: str, progress: Progress) -> None:
    removed: dict[str, int] = dict(progress.of("objects").get("removed", {}))
    for prefix in keys.user_prefixes(user_id):
        label = prefix.removesuffix(f"{user_id}/")
        pending = 0
        async for key in deps.storage.list_keys(prefix):
            await deps.storage.delete(key)
            removed[label] = removed.get(label, 0) + 1
            pending += 1
            if pending == OBJECT_BATCH:
                await progress.save("objects", removed=removed)
                pending = 0
        if pending:
            await progress.save("objects", removed=removed)
    await progress.save("objects", removed=removed, done=True)


async def _scrub_rows(deps: ErasureDeps, user_id: str, progress: Progress) -> None:
    counts = await repository.scrub_personal_data(deps.session, user_id, now=utc_now())
    await progress.save("rows", **counts, done=True)


STEPS: tuple[tuple[str, Step], ...] = (
    ("keys", _revoke_keys),
    ("jobs", _stop_jobs),
    ("resources", _delete_resources),
    ("job_media", _delete_job_records),
    ("objects", _delete_objects),
    ("rows", _scrub_rows),
)
