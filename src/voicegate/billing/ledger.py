"""Credit movements: grant, hold, capture, release, sweep. Each writes the balance and an append-only ledger entry.

The balance can never go below zero: every decrement is a conditional `UPDATE ... WHERE balance >= amount`
(atomic on SQLite and PostgreSQL), and a CHECK constraint backs it up. Functions here only flush (the sweep
excepted, see there); the caller decides the transaction boundaries (a hold is committed before the upstream call,
so a crash leaves a visible hold that `sweep_expired_holds` returns, never a silent one).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from voicegate import metrics
from voicegate.db.models import CreditHold, LedgerEntry, ProviderResembleRequest, User
from voicegate.errors import InsufficientCredits, NotFound, Unprocessable
from voicegate.kit.ids import new_id
from voicegate.kit.money import quantize_usd
from voicegate.kit.time import utc_now

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settlement:
    charged: Decimal
    shortfall: Decimal


async def _debit(session: AsyncSession, user_id: str, amount: Decimal) -> bool:
    result = await session.execute(
        update(User)
        .where(User.id == user_id, User.balance_usd >= amount)
        .values(balance_usd=User.balance_usd - amount)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def _credit(session: AsyncSession, user_id: str, amount: Decimal) -> None:
    await session.execute(
        update(User)
        .where(User.id == user_id)
        .values(balance_usd=User.balance_usd + amount)
        .execution_options(synchronize_session=False)
    )


def _entry(user_id: str, kind: str, amount: Decimal, correlation_id: str, note: str | None = None) -> LedgerEntry:
    return LedgerEntry(user_id=user_id, kind=kind, amount_usd=amount, correlation_id=correlation_id, note=note)


async def balance_of(session: AsyncSession, user_id: str) -> Decimal:
    balance = await session.scalar(select(User.balance_usd).where(User.id == user_id))
    if balance is None:
        raise NotFound("User not found")
    return balance


async def grant(session: AsyncSession, user_id: str, amount: Decimal, note: str | None = None) -> Decimal:
    """Add (or, when negative, remove) credit as an admin adjustment; the balance may not drop below zero."""
    amount = quantize_usd(amount)
    if amount == 0:
        raise Unprocessable("amount_usd must not be zero")
    await balance_of(session, user_id)
    if amount > 0:
        await _credit(session, user_id, amount)
    elif not await _debit(session, user_id, -amount):
        raise Unprocessable("Correction would take the balance below zero")
    session.add(_entry(user_id, "grant", amount, new_id(), note))
    await session.flush()
    return await balance_of(session, user_id)


async def place_hold(
    session: AsyncSession, user_id: str, correlation_id: str, amount: Decimal, ttl: timedelta
) -> CreditHold:
    """Reserve `amount` before calling upstream; raises InsufficientCredits (402) when the balance cannot cover it."""
    amount = quantize_usd(amount)
    if not await _debit(session, user_id, amount):
        raise InsufficientCredits(f"Insufficient credits: this request needs up to ${amount} USD")
    hold = CreditHold(user_id=user_id, correlation_id=correlation_id, amount_usd=amount, expires_at=utc_now() + ttl)
    session.add(hold)
    session.add(_entry(user_id, "hold", -amount, correlation_id))
    await session.flush()
    return hold


async def charge_now(
    session: AsyncSession, user_id: str, amount: Decimal, correlation_id: str, note: str | None = None
) -> None:
    """Take `amount` at once, for a charge with no upstream call to wait for (a voice's monthly renewal).
    Raises InsufficientCredits (402) when the balance cannot cover it; only flushes."""
    amount = quantize_usd(amount)
    if not await _debit(session, user_id, amount):
        raise InsufficientCredits(f"Insufficient credits: this charge needs ${amount} USD")
    session.add(_entry(user_id, "charge", -amount, correlation_id, note))
    await session.flush()


async def _settle(session: AsyncSession, hold: CreditHold, status: str) -> bool:
    result = await session.execute(
        update(CreditHold)
        .where(CreditHold.id == hold.id, CreditHold.status == "held")
        .values(status=status, settled_at=utc_now())
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def _take_up_to(session: AsyncSession, user_id: str, amount: Decimal) -> Decimal:
    """Debit `amount`, or as much of it as the balance holds; returns what was taken."""
    if amount <= 0 or await _debit(session, user_id, amount):
        return amount
    available = await session.scalar(select(User.balance_usd).where(User.id == user_id).with_for_update())
    taken = min(available or Decimal(0), amount)
    if taken > 0 and not await _debit(session, user_id, taken):
        taken = Decimal(0)
    return taken


async def capture(session: AsyncSession, hold: CreditHold, actual: Decimal) -> Settlement:
    """Settle a hold at the real price: the unused part goes back, an excess is taken from the balance.

    If the sweep already released the hold (the call outlived its TTL), the real price is charged directly. What
    the balance cannot cover is recorded as a shortfall on the hold for reconciliation, never silently dropped.
    """
    actual = quantize_usd(actual)
    if await _settle(session, hold, "captured"):
        refund = hold.amount_usd - actual
        taken = actual
        if refund >= 0:
            await _credit(session, hold.user_id, refund)
        else:
            taken = hold.amount_usd + await _take_up_to(session, hold.user_id, -refund)
        session.add(_entry(hold.user_id, "capture", hold.amount_usd - taken, hold.correlation_id))
    else:
        taken = await _take_up_to(session, hold.user_id, actual)
        session.add(_entry(hold.user_id, "charge", -taken, hold.correlation_id, "hold had been released"))
    shortfall = actual - taken
    if shortfall > 0:
        log.error("charge_shortfall", extra={"hold_id": hold.id, "shortfall_usd": str(shortfall)})
        await session.execute(update(CreditHold).where(CreditHold.id == hold.id).values(shortfall_usd=shortfall))
    await session.flush()
    return Settlement(charged=actual, shortfall=shortfall)


async def release(session: AsyncSession, hold: CreditHold, note: str | None = None) -> bool:
    """Return a hold in full (upstream failed, nothing to charge). Idempotent: False if already settled."""
    if not await _settle(session, hold, "released"):
        return False
    await _credit(session, hold.user_id, hold.amount_usd)
    session.add(_entry(hold.user_id, "release", hold.amount_usd, hold.correlation_id, note))
    await session.flush()
    return True


async def sweep_expired_holds(session: AsyncSession, now: datetime | None = None, limit: int = 500) -> int:
    """Release holds whose request never settled (a crash, a killed worker). Returns how many were released.

    The one function here that commits, once per hold: each release then locks its hold, then its user, in that
    order, as a request settling its own hold does. Released together, the sweep would keep a user's balance locked
    while waiting for that user's next hold, which a request capturing it may hold while waiting for the balance:
    a deadlock on PostgreSQL, answered 500 to whichever side loses.
    """
    now = now or utc_now()
    stale = (
        await session.execute(
            select(CreditHold, ProviderResembleRequest.capability)
            .outerjoin(ProviderResembleRequest, ProviderResembleRequest.id == CreditHold.correlation_id)
            .where(CreditHold.status == "held", CreditHold.expires_at < now)
            .order_by(CreditHold.expires_at)
            .limit(limit)
        )
    ).all()
    await session.commit()  # end the read, so on SQLite the first release is not a write on a stale snapshot
    released = 0
    for hold, capability in stale:
        swept = await release(session, hold, note="expired hold swept")
        await session.commit()
        if swept:
            released += 1
            metrics.holds.labels(capability or "none", "released").inc()
    if released:
        metrics.holds_swept.inc(released)
        log.warning("holds_swept", extra={"count": released})
    metrics.open_holds.set(await count_open_holds(session))
    await session.commit()
    return released


async def count_open_holds(session: AsyncSession) -> int:
    """How many holds are not settled yet (the `voicegate_open_holds` gauge the sweep keeps current)."""
    return await session.scalar(select(func.count()).select_from(CreditHold).where(CreditHold.status == "held")) or 0
