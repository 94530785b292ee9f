"""Asynchronous jobs: submit, follow, bill exactly once on the first `completed`, mirror the output lazily.

A job reaches its terminal state through whichever comes first: a user's GET (which asks Resemble while the job
is open), an inbound webhook, or the background poller. All three call `refresh`, and `_complete` wins the
transition with `repository.claim_completion` (a conditional UPDATE on the open statuses), backed by the unique
`provider_resemble_usage.job_id`: the database, not timing, makes a second charge impossible. The SQL lives in
`repository`; this module decides.

A job submitted with the user's own Resemble key (bring your own key) records that key's fingerprint, and every
later step (polling, callbacks, the download of its output, the charge) uses that key and the BYOK rate card,
whoever triggers it. If the key is gone before the job settles (the user removed or replaced it), the job fails
with `KEY_GONE`, its hold is released and nothing is charged.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from voicegate import metrics
from voicegate.billing import ledger
from voicegate.billing.pricing import Quote, RateCard
from voicegate.byok.service import Account, ByokKeys
from voicegate.config import Settings
from voicegate.db.models import CreditHold, ProviderResembleJob, ProviderResembleUsage
from voicegate.db.models.provider_resemble_job import OPEN_STATUSES, JobStatus
from voicegate.errors import GatewayError, NotFound
from voicegate.kit import media, netguard
from voicegate.kit.capability import scope as capability_scope
from voicegate.kit.time import isoformat_z, utc_now
from voicegate.resemble import metering
from voicegate.resemble.jobs import inputs, repository
from voicegate.resemble.jobs.kinds import (
    KINDS,
    JobKind,
    billable,
    error_of,
    estimate_rate,
    item_of,
    status_of,
    upstream_id_of,
)
from voicegate.resemble.jobs.schemas import JobSubmit
from voicegate.resemble.voices import access
from voicegate.resemble.voices.catalogue import VoiceCatalogue
from voicegate.resources import Resources
from voicegate.storage import service as storage_service
from voicegate.storage.base import StorageBackend
from voicegate.storage.retention import AssetClass
from voicegate.upstream import jobs as wire
from voicegate.upstream.client import ResembleClient
from voicegate.webhooks import service as outbound_webhooks

log = logging.getLogger(__name__)

CALLBACK_PATH = "/api/v1/webhooks/resemble/{token}"
# Polling GETs are not rate limited, so an open job asks Resemble at most this often; faster polls see our copy.
MIN_REFRESH_INTERVAL = timedelta(milliseconds=500)
# Rate-card units billed by duration; every other unit counts one per job.
SECONDS_UNITS = frozenset({"audio_seconds", "video_seconds"})
KEY_GONE = (
    "The Resemble API key this job was submitted with was removed or replaced before the job finished, so its "
    "result can no longer be fetched; nothing was charged"
)


@dataclass(frozen=True)
class JobDeps:
    session: AsyncSession
    upstream: ResembleClient
    storage: StorageBackend
    outbound: httpx.AsyncClient
    settings: Settings
    rate_card: RateCard
    voices: VoiceCatalogue
    byok: ByokKeys
    byok_fingerprint: str | None = None
    """The caller's own key (its fingerprint) that `upstream` calls with; None for the gateway's."""


def job_deps(resources: Resources, session: AsyncSession, account: Account | None = None) -> JobDeps:
    """The one way to build `JobDeps`: for a request's unit of work (the caller's `account`) and for background
    tasks alike (the shared account; each job is then followed with its own, see `_for_job`)."""
    account = account or resources.byok.shared
    return JobDeps(
        session=session,
        upstream=account.upstream,
        storage=resources.storage,
        outbound=resources.media_http,
        settings=resources.settings,
        rate_card=account.rate_card,
        voices=resources.voices,
        byok=resources.byok,
        byok_fingerprint=account.fingerprint,
    )


async def _for_job(deps: JobDeps, job: ProviderResembleJob) -> JobDeps | None:
    """`deps` calling with the key `job` was submitted with, or None when that key is gone."""
    if job.byok_fingerprint is None:
        account: Account | None = deps.byok.shared
    else:
        account = await deps.byok.account_for_job(job.user_id, job.byok_fingerprint)
    if account is None:
        return None
    return dataclasses.replace(
        deps, upstream=account.upstream, rate_card=account.rate_card, byok_fingerprint=account.fingerprint
    )


async def submit(deps: JobDeps, kind: JobKind, user_id: str, body: JobSubmit) -> dict[str, Any]:
    """Hold credit for an estimate, hand the job to Resemble, and record it; nothing is sent if credit is short."""
    session, settings = deps.session, deps.settings
    for voice_uuid in body.voices():
        await access.ensure_speakable(session, deps.voices, deps.rate_card, user_id, voice_uuid)
    if body.callback_uri:
        await netguard.check_public_url(
            body.callback_uri, allow_private=settings.outbound_allow_private_networks, field="callback_uri"
        )
    prepared = await inputs.prepare(
        session=session,
        storage=deps.storage,
        outbound=deps.outbound,
        settings=settings,
        user_id=user_id,
        kind=kind,
        url=body.media_url(),
    )
    seconds = prepared.seconds if prepared.seconds is not None else Decimal(settings.job_default_estimate_s)
    rate_key = estimate_rate(kind, prepared.kind)
    quantity = _quantity_in(deps.rate_card.rates[rate_key].unit, seconds)
    estimate = deps.rate_card.quote(rate_key, quantity)
    request, hold = await metering.open_request(
        session,
        user_id=user_id,
        capability=kind.capability,
        operation=f"{kind.capability}.submit",
        estimate=estimate,
        hold_ttl=timedelta(seconds=settings.job_hold_ttl_s),
    )
    job = ProviderResembleJob(
        user_id=user_id,
        request_id=request.id,
        capability=kind.capability,
        callback_token=secrets.token_urlsafe(32) if kind.callbacks else None,
        callback_uri=body.callback_uri,
        input_asset_id=prepared.asset_id,
        input_url=body.media_url()[:2048],
        input_seconds=prepared.seconds,
        estimate_rate_key=rate_key,
        estimated_quantity=quantity,
        params=json.dumps({"options": body.options(), "media_kind": prepared.kind}),
        updated_at=utc_now(),
        byok_fingerprint=deps.byok_fingerprint,
    )
    session.add(job)
    await session.commit()
    metrics.job_transitions.labels(kind.capability, JobStatus.PENDING.value).inc()
    callback_url = (
        settings.public_base_url.rstrip("/") + CALLBACK_PATH.format(token=job.callback_token)
        if job.callback_token
        else None
    )
    try:
        created = await kind.submit(deps.upstream, prepared.media, body.options(), callback_url)
        upstream_id = upstream_id_of(created)
        if upstream_id is None:
            raise GatewayError("Resemble upstream error", status_code=502, extra={"reason": "no job id"})
    except GatewayError as error:
        job.status, job.error, job.updated_at = JobStatus.FAILED, str(error.detail)[:500], utc_now()
        await metering.fail_request(session, request, hold, error, latency_ms=0)
        metrics.job_transitions.labels(kind.capability, JobStatus.FAILED.value).inc()
        raise
    item = item_of(created)
    job.upstream_id = upstream_id
    job.result = json.dumps(item)
    job.updated_at = utc_now()
    request.status, request.upstream_status = "submitted", 200
    await session.commit()
    return await _advance(deps, kind, job, item)


def _quantity_in(unit: str, seconds: Decimal) -> Decimal:
    return seconds if unit in SECONDS_UNITS else Decimal(1)


async def get(deps: JobDeps, kind: JobKind, user_id: str, job_id: str) -> dict[str, Any]:
    job = await repository.get_own(deps.session, user_id=user_id, capability=kind.capability, job_id=job_id)
    if job is None:
        raise NotFound("Job not found")
    recently = job.updated_at is not None and utc_now() - job.updated_at < MIN_REFRESH_INTERVAL
    if job.status not in OPEN_STATUSES or recently:
        # A finished job's output may still be mirrored on this read: with the key it was made with, if any.
        return await _render(await _for_job(deps, job) or deps, kind, job, _stored_item(job))
    return await refresh(deps, kind, job)


async def refresh(deps: JobDeps, kind: JobKind, job: ProviderResembleJob) -> dict[str, Any]:
    """Ask Resemble for the job's state (never trusting a callback body) and move it forward, with the key the
    job was submitted with; a job whose own key is gone fails, free."""
    if job.upstream_id is None or job.status not in OPEN_STATUSES:
        return await _render(deps, kind, job, _stored_item(job))
    own = await _for_job(deps, job)
    if own is None:
        await _fail(deps, job, {"status": JobStatus.FAILED.value, "error": KEY_GONE})
        await deps.session.refresh(job)
        return await _render(deps, kind, job, _stored_item(job))
    deps = own
    await deps.session.commit()  # end the read snapshot before the network call and the write that follows
    with capability_scope(kind.limit):
        item = item_of(await wire.fetch_job(deps.upstream, kind.capability, job.upstream_id))
    return await _advance(deps, kind, job, item)


async def _advance(deps: JobDeps, kind: JobKind, job: ProviderResembleJob, item: dict[str, Any]) -> dict[str, Any]:
    status = status_of(kind, item)
    if status == JobStatus.COMPLETED:
        await _complete(deps, kind, job, item)
    elif status == JobStatus.FAILED:
        await _fail(deps, job, item)
    else:
        advanced = status.rank > JobStatus(job.status).rank
        if advanced:
            advanced = await repository.advance(deps.session, job.id, item=item, now=utc_now())
        else:
            await repository.touch(deps.session, job.id, item=item, now=utc_now())
        await deps.session.commit()
        if advanced:
            metrics.job_transitions.labels(kind.capability, JobStatus.PROCESSING.value).inc()
    await deps.session.refresh(job)
    return await _render(deps, kind, job, item if job.status in OPEN_STATUSES else _stored_item(job))


async def _complete(deps: JobDeps, kind: JobKind, job: ProviderResembleJob, item: dict[str, Any]) -> None:
    session = deps.session
    output_url = str(item.get(kind.output_field) or "") if kind.output_field else ""
    output = await deps.upstream.download(output_url, deps.settings.media_fetch_max_bytes) if output_url else None
    rate_key, quantity = billable(
        kind, item, input_seconds=job.input_seconds, output_seconds=media.measure_seconds(output) if output else None
    )
    if quantity is None:
        log.warning("job_billed_at_estimate", extra={"job_id": job.id, "capability": kind.capability})
        quantity = _estimated_quantity(deps, job, rate_key)
    quote = deps.rate_card.quote(rate_key, quantity)
    won = await repository.claim_completion(
        session,
        job.id,
        rate_key=rate_key,
        quantity=quantity,
        item=item,
        output_url=output_url[:4096] or None,
        now=utc_now(),
    )
    if not won:
        await session.rollback()  # someone else completed it first: their charge is the only one
    else:
        try:
            hold = await repository.hold_for(session, job)
            usage = await _charge(session, job, quote, hold)
            if job.callback_uri:
                await _enqueue_callback(deps, kind, job, item, usage)
            await session.commit()
        except IntegrityError:
            await session.rollback()
        else:
            metrics.job_transitions.labels(kind.capability, JobStatus.COMPLETED.value).inc()
            metering.count_charge(kind.capability, held=hold is not None)
    await session.refresh(job)
    if output is not None and kind.output_class is not None:
        await _mirror(deps, kind, job, output)


def _estimated_quantity(deps: JobDeps, job: ProviderResembleJob, rate_key: str) -> Decimal:
    """The quantity the credit hold was placed for at submit, when it was estimated in the unit now billed."""
    rates = deps.rate_card.rates
    unit = rates[rate_key].unit
    estimated = rates.get(job.estimate_rate_key or "")
    if job.estimated_quantity is not None and estimated is not None and estimated.unit == unit:
        return job.estimated_quantity
    # A job submitted before estimates were stored, or held in another unit (an "image" that turned out to be
    # audio): bill what submit would have assumed for an unmeasurable input.
    return _quantity_in(unit, Decimal(deps.settings.job_default_estimate_s))


async def _charge(
    session: AsyncSession, job: ProviderResembleJob, quote: Quote, hold: CreditHold | None
) -> ProviderResembleUsage:
    usage = await metering.charge(
        session,
        hold,
        quote,
        user_id=job.user_id,
        request_id=job.request_id,
        capability=job.capability,
        job_id=job.id,
    )
    await repository.mark_request_succeeded(session, job.request_id, now=utc_now())
    return usage


async def _fail(deps: JobDeps, job: ProviderResembleJob, item: dict[str, Any]) -> None:
    session = deps.session
    now = utc_now()
    if not await repository.claim_failure(session, job.id, error=error_of(item), item=item, now=now):
        await session.rollback()
        await session.refresh(job)
        return
    hold = await repository.hold_for(session, job)
    released = hold is not None and await ledger.release(session, hold, note="job failed upstream")
    await repository.mark_request_failed(session, job.request_id, error=error_of(item), now=now)
    if job.callback_uri:
        await _enqueue_callback(deps, KINDS[job.capability], job, item)
    await session.commit()
    metrics.job_transitions.labels(job.capability, JobStatus.FAILED.value).inc()
    if released:
        metrics.holds.labels(job.capability, "released").inc()


async def stop_open_jobs(session: AsyncSession, user_id: str, *, reason: str) -> int:
    """Fail every open job of the user and give its hold back (nothing is charged), so no poll, callback or mirror
    acts for them again (their erasure). Returns how many were stopped; the caller commits."""
    stopped = 0
    for job_id in await repository.open_job_ids_of_user(session, user_id):
        now = utc_now()
        if not await repository.claim_failure(session, job_id, error=reason, item={}, now=now):
            continue  # it ended meanwhile
        job = await repository.get(session, job_id)
        assert job is not None
        hold = await repository.hold_for(session, job)
        if hold is not None:
            await ledger.release(session, hold, note=reason)
        await repository.mark_request_failed(session, job.request_id, error=reason, now=now)
        stopped += 1
    return stopped


async def _enqueue_callback(
    deps: JobDeps,
    kind: JobKind,
    job: ProviderResembleJob,
    item: dict[str, Any],
    usage: ProviderResembleUsage | None = None,
) -> None:
    """Queue the final result for the user's `callback_uri`, in the transaction that ends the job."""
    await deps.session.refresh(job)
    data: dict[str, Any] = {
        "job_id": job.id,
        "capability": kind.path,
        "status": job.status,
        "error": job.error,
        "completed_at": isoformat_z(job.completed_at) if job.completed_at else None,
        "result": {k: v for k, v in item.items() if k not in ("uuid", "success")},
    }
    if usage is not None:
        data["billing"] = metering.billing_view(usage)
    event_type = f"job.{job.status}"
    payload = {"type": event_type, "timestamp": isoformat_z(utc_now()), "data": data}
    await outbound_webhooks.enqueue(
        deps.session,
        user_id=job.user_id,
        job_id=job.id,
        url=str(job.callback_uri),
        event_type=event_type,
        payload=payload,
    )


async def _mirror(deps: JobDeps, kind: JobKind, job: ProviderResembleJob, data: bytes) -> None:
    sniffed = media.sniff(data[:64])
    ext = sniffed.extension if sniffed else "bin"
    mime = sniffed.mime if sniffed else "application/octet-stream"
    assert kind.output_class is not None
    await storage_service.mirror_bytes(
        deps.session,
        deps.storage,
        user_id=job.user_id,
        request_id=job.request_id,
        asset_class=kind.output_class,
        data=data,
        ext=ext,
        content_type=mime,
        job_id=job.id,
        stamped_at=job.created_at,
    )


async def _mirror_transcript(deps: JobDeps, job: ProviderResembleJob, item: dict[str, Any]) -> None:
    data = json.dumps({k: v for k, v in item.items() if k not in ("file_url",)}, indent=2).encode()
    await storage_service.mirror_bytes(
        deps.session,
        deps.storage,
        user_id=job.user_id,
        request_id=job.request_id,
        asset_class=AssetClass.STT_OUTPUT,
        data=data,
        ext="json",
        content_type="application/json",
        job_id=job.id,
        stamped_at=job.created_at,
    )


def _stored_item(job: ProviderResembleJob) -> dict[str, Any]:
    loaded = json.loads(job.result) if job.result else {}
    return loaded if isinstance(loaded, dict) else {}


async def _render(deps: JobDeps, kind: JobKind, job: ProviderResembleJob, item: dict[str, Any]) -> dict[str, Any]:
    """Resemble's result, augmented with our job id, links to our copy, and the bill."""
    body: dict[str, Any] = {k: v for k, v in item.items() if k not in ("uuid", "success", "status")}
    body.update(
        job_id=job.id,
        capability=kind.path,
        status=job.status,
        error=job.error,
        created_at=isoformat_z(job.created_at),
        completed_at=isoformat_z(job.completed_at) if job.completed_at else None,
    )
    if job.status == JobStatus.COMPLETED:
        body.update(await _links(deps, kind, job, item))
        usage = await repository.usage_for(deps.session, job.id)
        if usage is not None:
            body["billing"] = metering.billing_view(usage)
    return body


async def _links(deps: JobDeps, kind: JobKind, job: ProviderResembleJob, item: dict[str, Any]) -> dict[str, Any]:
    """Links to the mirrored output, mirroring it first if no one has yet (lazy and idempotent)."""
    is_transcript = kind.capability == "stt"
    if kind.output_class is None and not is_transcript:
        return {}
    asset = await storage_service.find_for_request(deps.session, user_id=job.user_id, job_id=job.id)
    if asset is None:
        if is_transcript:
            await _mirror_transcript(deps, job, item)
        elif job.output_url:
            try:
                data = await deps.upstream.download(job.output_url, deps.settings.media_fetch_max_bytes)
            except GatewayError:
                log.warning("job_output_download_failed", extra={"job_id": job.id})
            else:
                await _mirror(deps, kind, job, data)
        asset = await storage_service.find_for_request(deps.session, user_id=job.user_id, job_id=job.id)
    expired = asset is not None and storage_service.is_expired(asset)
    link = (
        await storage_service.presign(deps.storage, asset, timedelta(seconds=deps.settings.presign_ttl_s))
        if asset and not expired
        else None
    )
    url_field = "transcript_url" if is_transcript else "audio_url"
    return {
        url_field: link.url if link else None,
        "asset_expired": expired,
        "expires_at": isoformat_z(asset.expires_at) if asset and asset.expires_at else None,
        "resemble_url": job.output_url if not is_transcript else item.get("file_url"),
    }


async def list_jobs(deps: JobDeps, kind: JobKind, user_id: str, page: int, page_size: int) -> dict[str, Any]:
    jobs, total = await repository.page_of_user(
        deps.session, user_id=user_id, capability=kind.capability, offset=(page - 1) * page_size, limit=page_size
    )
    items = [
        {
            "job_id": job.id,
            "status": job.status,
            "created_at": isoformat_z(job.created_at),
            "completed_at": isoformat_z(job.completed_at) if job.completed_at else None,
            "error": job.error,
        }
        for job in jobs
    ]
    return {"items": items, "page": page, "page_size": page_size, "total": total, "num_pages": -(-total // page_size)}
