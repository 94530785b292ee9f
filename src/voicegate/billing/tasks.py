"""Billing's background work: release credit holds whose request never settled (a crash, a killed worker)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voicegate.billing import ledger


async def sweep_holds(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    """Release every expired hold; each release commits on its own, so a second sweep finds nothing left."""
    async with sessionmaker() as session:
        released = await ledger.sweep_expired_holds(session)
        await session.commit()
        return released
