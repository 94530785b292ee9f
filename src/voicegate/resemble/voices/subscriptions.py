"""Monthly billing of cloned voices: Resemble bills each custom voice per month while it exists.

- Month n of a voice runs from `anchor + n months` to `anchor + (n + 1) months`; the anchor is the moment its
  first build (or promotion from a voice design) succeeded, which pays month 0.
- A renewal pays the month `as_of` falls in, once: a unique `(voice, month)` row is written in the same
  transaction as the debit, so two workers, a retried task or a resumed synthesis can never charge it twice.
- A renewal the balance cannot cover suspends the voice (synthesis with it answers 402) and charges nothing. The
  next renewal run, or the next synthesis with the voice once credit is back, pays the current month and lifts the
  suspension. Months spent suspended are not billed; a deleted voice is never renewed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voicegate.billing import ledger
from voicegate.billing.pricing import Quote, RateCard
from voicegate.db.models import ProviderResembleRequest
from voicegate.errors import InsufficientCredits, log_item_failure
from voicegate.kit.time import isoformat_z, utc_now
from voicegate.resemble.metering import Metered, charge, metered_call
from voicegate.resemble.voices import repository
from voicegate.resemble.voices.repository import VoiceState

log = logging.getLogger(__name__)

CAPABILITY = "voice_subscriptions"  # the usage rows of monthly voice charges
RENEWAL_BATCH = 200


def rate_key(voice_type: str) -> str:
    return "voice_clone_professional" if voice_type == "professional" else "voice_clone_rapid"


def monthly_quote(rate_card: RateCard, voice_type: str) -> Quote:
    return rate_card.quote(rate_key(voice_type), Decimal(1))


def period_bounds(anchor: datetime, index: int) -> tuple[datetime, datetime]:
    return anchor + relativedelta(months=index), anchor + relativedelta(months=index + 1)


def period_at(anchor: datetime, at: datetime) -> int:
    """The month of a voice anchored at `anchor` that `at` falls in (0 before or at the anchor)."""
    if at <= anchor:
        return 0
    index = max(0, (at.year - anchor.year) * 12 + at.month - anchor.month)
    while index > 0 and period_bounds(anchor, index)[0] > at:
        index -= 1
    while period_bounds(anchor, index)[1] <= at:
        index += 1
    return index


def is_current(voice: VoiceState, at: datetime) -> bool:
    """Whether the month `at` falls in is paid."""
    if voice.billing_anchor_at is None or voice.last_paid_index is None:
        return False
    return voice.last_paid_index >= period_at(voice.billing_anchor_at, at)


def view(voice: VoiceState, rate_card: RateCard, at: datetime | None = None) -> dict[str, object]:
    """The `subscription` object of a voice's answers."""
    at = at or utc_now()
    start = end = None
    if voice.billing_anchor_at is not None:
        start, end = period_bounds(voice.billing_anchor_at, period_at(voice.billing_anchor_at, at))
    return {
        "voice_type": voice.voice_type,
        "build_status": voice.build_status,
        "suspended": voice.suspended_at is not None,
        "suspended_at": isoformat_z(voice.suspended_at) if voice.suspended_at else None,
        "current_period_start": isoformat_z(start) if start else None,
        "current_period_end": isoformat_z(end) if end else None,
        "paid_through": isoformat_z(voice.paid_through) if voice.paid_through else None,
        "monthly_price": str(monthly_quote(rate_card, voice.voice_type).charged),
    }


async def metered_month(
    session: AsyncSession,
    rate_card: RateCard,
    *,
    user_id: str,
    voice_type: str,
    operation: str,
    hold_ttl: timedelta,
    anchor: datetime,
    index: int,
    call: Callable[[], Awaitable[dict[str, Any]]],
    voice_of: Callable[[str], Awaitable[str]],
) -> tuple[Metered, dict[str, Any]]:
    """A billed upstream call that pays month `index` of a voice (a build, a promotion): hold the month's price,
    make `call`, then in the charge's transaction record the paid month of the voice `voice_of(request_id)` names
    (it may write the voice's own rows first). A month someone else paid meanwhile fails that transaction with
    `IntegrityError`."""
    quote = monthly_quote(rate_card, voice_type)
    start, end = period_bounds(anchor, index)

    async def keep(request_id: str, _: dict[str, Any]) -> list[object]:
        voice_id = await voice_of(request_id)
        paid = repository.add_paid_period(
            session, voice_id=voice_id, user_id=user_id, index=index, start=start, end=end, request_id=request_id
        )
        return [paid]

    return await metered_call(
        session,
        user_id=user_id,
        capability=CAPABILITY,
        operation=operation,
        estimate=quote,
        hold_ttl=hold_ttl,
        call=call,
        price=lambda result: (quote, result),
        keep=keep,
    )


class Renewal(StrEnum):
    CHARGED = "charged"
    ALREADY_PAID = "already_paid"
    SUSPENDED = "suspended"
    NOT_DUE = "not_due"


async def renew(session: AsyncSession, rate_card: RateCard, voice: VoiceState, at: datetime) -> Renewal:
    """Pay the month `at` falls in, if it is not paid: debit, request row, usage row and the month's row in one
    transaction (commits). Without credit the voice is suspended instead."""
    if voice.billing_anchor_at is None:
        return Renewal.NOT_DUE
    index = period_at(voice.billing_anchor_at, at)
    if voice.last_paid_index is not None and voice.last_paid_index >= index:
        return Renewal.NOT_DUE
    start, end = period_bounds(voice.billing_anchor_at, index)
    quote = monthly_quote(rate_card, voice.voice_type)
    request = ProviderResembleRequest(user_id=voice.user_id, capability=CAPABILITY, operation="renew_voice")
    session.add(request)
    try:
        await session.flush()
        repository.add_paid_period(
            session,
            voice_id=voice.id,
            user_id=voice.user_id,
            index=index,
            start=start,
            end=end,
            request_id=request.id,
        )
        await session.flush()  # the unique (voice, month) row first: a month someone else paid stops here
        await ledger.charge_now(session, voice.user_id, quote.charged, request.id, note=f"voice {voice.upstream_id}")
    except IntegrityError:
        await session.rollback()
        return Renewal.ALREADY_PAID
    except InsufficientCredits:
        await session.rollback()
        newly = await repository.suspend(session, voice.id, at)
        await session.commit()
        if newly:
            log.warning(
                "voice_suspended_unpaid",
                extra={"user_id": voice.user_id, "voice_uuid": voice.upstream_id, "period": index},
            )
        return Renewal.SUSPENDED
    await charge(session, None, quote, user_id=voice.user_id, request_id=request.id, capability=CAPABILITY)
    request.status, request.upstream_status, request.completed_at = "succeeded", None, utc_now()
    request.raw_response = None
    await repository.change(session, voice.id, suspended_at=None)
    await session.commit()
    log.info("voice_renewed", extra={"user_id": voice.user_id, "voice_uuid": voice.upstream_id, "period": index})
    return Renewal.CHARGED


@dataclass(frozen=True)
class RenewalReport:
    charged: int = 0
    suspended: int = 0
    already_paid: int = 0
    not_due: int = 0
    failed: int = 0

    def counted(self, outcome: Renewal | None) -> RenewalReport:
        field = "failed" if outcome is None else outcome.value
        return replace(self, **{field: getattr(self, field) + 1})


async def renew_all(
    sessionmaker: async_sessionmaker[AsyncSession], rate_card: RateCard, at: datetime | None = None
) -> RenewalReport:
    """The periodic task: pay every live voice's current month once; one voice's failure never stops the run."""
    at = at or utc_now()
    report, after = RenewalReport(), ""
    while True:
        async with sessionmaker() as session:
            batch = await repository.billed_voices(session, after_id=after, limit=RENEWAL_BATCH)
        if not batch:
            return report
        for voice in batch:
            outcome: Renewal | None
            try:
                async with sessionmaker() as session:
                    outcome = await renew(session, rate_card, voice, at)
            except Exception as exc:
                log_item_failure(log, "voice_renewal_failed", exc, voice_uuid=voice.upstream_id)
                outcome = None
            report = report.counted(outcome)
        after = batch[-1].id


class VoiceSuspended(InsufficientCredits):
    """Synthesis with a voice whose month is unpaid (402)."""


async def ensure_paid(session: AsyncSession, rate_card: RateCard, voice: VoiceState) -> None:
    """Refuse a suspended voice with 402, after trying once more to pay its month (credit may be back): a user who
    tops up can use the voice at once, without waiting for the renewal task."""
    if voice.suspended_at is None:
        return
    # The month that went unpaid is the one the suspension happened in (or a later one, by now).
    outcome = await renew(session, rate_card, voice, max(utc_now(), voice.suspended_at))
    if outcome in (Renewal.CHARGED, Renewal.ALREADY_PAID, Renewal.NOT_DUE):
        if outcome is not Renewal.CHARGED:
            await repository.change(session, voice.id, suspended_at=None)
            await session.commit()
        return
    price = monthly_quote(rate_card, voice.voice_type).charged
    raise VoiceSuspended(
        f"Voice {voice.upstream_id} is suspended: its monthly subscription (${price} USD) could not be renewed. "
        "Add credit and it resumes with the next use."
    )
