"""The one request path every billed capability takes:
hold credit -> call Resemble -> capture + usage row (one transaction), or release on failure.

Each step is its own short transaction. The hold and the pending request row are committed before upstream is
called, so a crash mid-call leaves evidence (swept later), never a silent charge or a silent loss.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from voicegate import metrics
from voicegate.billing import idempotency, ledger
from voicegate.billing.pricing import Quote
from voicegate.db.models import CreditHold, ProviderResembleRequest, ProviderResembleUsage
from voicegate.errors import GatewayError
from voicegate.kit.capability import NONE
from voicegate.kit.capability import scope as capability_scope
from voicegate.kit.money import quantize_usd
from voicegate.kit.time import utc_now

log = logging.getLogger(__name__)

T = TypeVar("T")


def billing_view(usage: ProviderResembleUsage) -> dict[str, Any]:
    """The `billing` object of every billed response: money and quantity as exact decimal strings."""
    return {
        "unit": usage.unit,
        "quantity": str(quantize_usd(usage.quantity)),  # stored to the millionth, like money
        "unit_price": str(quantize_usd(usage.unit_price_usd)),
        "provider_cost": str(quantize_usd(usage.provider_cost_usd)),
        "markup_pct": str(Decimal(usage.markup_pct).quantize(Decimal("0.01"))),
        "charged": str(quantize_usd(usage.charged_usd)),
        "currency": usage.currency,
    }


@dataclass(frozen=True)
class Metered:
    request: ProviderResembleRequest
    usage: ProviderResembleUsage


async def open_request(
    session: AsyncSession,
    *,
    user_id: str,
    capability: str,
    operation: str,
    estimate: Quote,
    hold_ttl: timedelta,
) -> tuple[ProviderResembleRequest, CreditHold]:
    request = ProviderResembleRequest(user_id=user_id, capability=capability, operation=operation)
    session.add(request)
    await session.flush()
    try:
        hold = await ledger.place_hold(session, user_id, request.id, estimate.charged, hold_ttl)
    except GatewayError:
        await session.rollback()
        raise
    await idempotency.link_request(session, request.id)
    await session.commit()
    metrics.holds.labels(capability, "placed").inc()
    return request, hold


async def fail_request(
    session: AsyncSession,
    request: ProviderResembleRequest,
    hold: CreditHold,
    error: GatewayError,
    latency_ms: int,
) -> None:
    request.status = "failed"
    request.upstream_status = error.extra.get("upstream_status") or error.status_code
    request.error = str(error.detail)[:500]
    request.latency_ms = latency_ms
    request.completed_at = utc_now()
    released = await ledger.release(session, hold, note=f"upstream failed: {error.status_code}")
    await session.commit()
    if released:
        metrics.holds.labels(request.capability, "released").inc()


async def charge(
    session: AsyncSession,
    hold: CreditHold | None,
    quote: Quote,
    *,
    user_id: str,
    request_id: str,
    capability: str,
    job_id: str | None = None,
) -> ProviderResembleUsage:
    """Settle the hold at `quote` and add the usage row; only flushes, so it joins the caller's transaction."""
    if hold is not None:
        await ledger.capture(session, hold, quote.charged)
    usage = ProviderResembleUsage(
        user_id=user_id,
        request_id=request_id,
        job_id=job_id,
        capability=capability,
        unit=quote.unit,
        quantity=quote.quantity,
        unit_price_usd=quote.unit_price,
        provider_cost_usd=quote.provider_cost,
        markup_pct=quote.markup_pct,
        charged_usd=quote.charged,
        byok=quote.byok,
    )
    session.add(usage)
    await session.flush()
    return usage


async def settle_request(
    session: AsyncSession,
    request: ProviderResembleRequest,
    hold: CreditHold,
    quote: Quote,
    raw_response: dict[str, Any],
    latency_ms: int,
    rows: Sequence[object] = (),
) -> ProviderResembleUsage:
    """Capture the real price and write the usage row (and any `rows` that belong with it) in one transaction."""
    session.add_all(rows)
    usage = await charge(
        session, hold, quote, user_id=request.user_id, request_id=request.id, capability=request.capability
    )
    request.status = "succeeded"
    request.upstream_status = 200
    request.latency_ms = latency_ms
    request.raw_response = json.dumps(raw_response)
    request.completed_at = utc_now()
    await session.commit()
    count_charge(request.capability)
    return usage


def count_charge(capability: str, *, held: bool = True) -> None:
    """Count a charge (and the capture of its hold) once the transaction writing it has committed."""
    metrics.charges.labels(capability).inc()
    if held:
        metrics.holds.labels(capability, "captured").inc()


async def metered_call(
    session: AsyncSession,
    *,
    user_id: str,
    capability: str,
    operation: str,
    estimate: Quote,
    hold_ttl: timedelta,
    call: Callable[[], Awaitable[T]],
    price: Callable[[T], tuple[Quote, dict[str, Any]]],
    keep: Callable[[str, T], Awaitable[Sequence[object]]] | None = None,
) -> tuple[Metered, T]:
    """Run one billed upstream call. `price` turns the upstream result into the real quote and the raw response
    to keep (without media bytes); `keep` (given the request id) stores what the result produced and returns the
    rows recording it, which are written in the same transaction as the charge."""
    request, hold = await open_request(
        session,
        user_id=user_id,
        capability=capability,
        operation=operation,
        estimate=estimate,
        hold_ttl=hold_ttl,
    )
    started = time.perf_counter()
    try:
        with capability_scope(capability):
            result = await call()
    except GatewayError as error:
        await fail_request(session, request, hold, error, int((time.perf_counter() - started) * 1000))
        raise
    except BaseException:
        # Anything else (a bug, a cancelled request): give the credit back before propagating.
        await session.rollback()
        released = await ledger.release(session, hold, note="request aborted")
        await session.commit()
        if released:
            metrics.holds.labels(capability, "released").inc()
        raise
    latency_ms = int((time.perf_counter() - started) * 1000)
    quote, raw = price(result)
    rows: Sequence[object] = ()
    if keep is not None:
        try:
            rows = await keep(request.id, result)
        except Exception:  # keeping a copy must never cost us the charge for work already delivered
            log.exception("keep_result_failed", extra={"provider_request_id": request.id})
    usage = await settle_request(session, request, hold, quote, raw, latency_ms, rows)
    return Metered(request=request, usage=usage), result


async def abandon(session: AsyncSession, request_id: str, *, reason: str) -> None:
    """Close a request whose upstream result was undone before its charge was written: give back its hold (the
    sweep would, but only after HOLD_TTL_S) and mark it failed. The database may be what failed, so a failure
    here is logged, not raised."""
    try:
        hold = await session.scalar(select(CreditHold).where(CreditHold.correlation_id == request_id))
        released = hold is not None and await ledger.release(session, hold, note=reason)
        request = await session.get(ProviderResembleRequest, request_id)
        capability = request.capability if request is not None else NONE
        if request is not None and request.status == "pending":
            request.status, request.completed_at, request.error = "failed", utc_now(), reason[:500]
        await session.commit()
        if released:
            metrics.holds.labels(capability, "released").inc()
    except SQLAlchemyError:
        await session.rollback()
        log.exception("abandoned_request_not_closed", extra={"provider_request_id": request_id})
