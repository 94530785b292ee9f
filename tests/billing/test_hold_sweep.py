"""The hold sweep racing a request that settles its own hold: both must finish, and the books must balance."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

from fastapi import FastAPI
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import create_customer
from voicegate.billing import ledger
from voicegate.db.models import CreditHold, LedgerEntry


async def test_sweep_never_holds_a_balance_while_waiting_for_a_hold(app: FastAPI, session: AsyncSession):
    """Found by the load test on PostgreSQL: the sweep released every stale hold in one transaction, so after the
    first it kept the user's balance locked while waiting for the second, which a request capturing it held while
    waiting for the balance. PostgreSQL broke the deadlock by failing the capture (a 500 for delivered audio)."""
    customer = await create_customer(session, credits="10.00")
    user_id = customer.user.id
    await ledger.place_hold(session, user_id, "crashed", Decimal("1"), timedelta(seconds=-2))
    slow = await ledger.place_hold(session, user_id, "slow", Decimal("1"), timedelta(seconds=-1))
    await session.commit()

    async def sweep() -> int:
        async with app.state.resources.sessionmaker() as sweeping:
            return await ledger.sweep_expired_holds(sweeping)

    async with app.state.resources.sessionmaker() as request:
        # The request settling the second hold has taken its lock (capture's first statement) ...
        await request.execute(update(CreditHold).where(CreditHold.id == slow.id).values(status="held"))
        sweeping = asyncio.create_task(sweep())
        await asyncio.sleep(0.5)  # ... the sweep has released the first hold and now waits for the second ...
        settlement = await ledger.capture(request, slow, Decimal("0.4"))  # ... and the capture needs the balance.
        await request.commit()
    assert await asyncio.wait_for(sweeping, timeout=10) == 1

    assert settlement.shortfall == 0
    assert await ledger.balance_of(session, user_id) == Decimal("9.6")
    total = await session.scalar(select(func.sum(LedgerEntry.amount_usd)).where(LedgerEntry.user_id == user_id))
    assert total == Decimal("9.6")
