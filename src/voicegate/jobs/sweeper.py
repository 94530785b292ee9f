"""In-process periodic maintenance for the embedded default: releases credit holds that never settled."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voicegate.billing import ledger
from voicegate.config import Settings

log = logging.getLogger(__name__)

SWEEP_EVERY_S = 60.0


async def sweep_once(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        released = await ledger.sweep_expired_holds(session)
        await session.commit()
        return released


async def run_periodically(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    while True:
        await asyncio.sleep(SWEEP_EVERY_S)
        try:
            await sweep_once(sessionmaker)
        except Exception:  # one bad sweep must not stop the next
            log.exception("hold_sweep_failed")
