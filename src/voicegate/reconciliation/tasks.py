"""The hourly reconciliation: a 24 h rolling window, recomputed from scratch each run, so a rerun is harmless."""

from __future__ import annotations

from voicegate.reconciliation import service
from voicegate.reconciliation.schemas import ReconciliationReport
from voicegate.reconciliation.window import DEFAULT_WINDOW
from voicegate.resources import Resources

RECONCILE_EVERY_S = 3600.0


async def reconcile(resources: Resources) -> ReconciliationReport:
    """Run one reconciliation over the default window; the service logs drift and sets the gauges."""
    async with resources.sessionmaker() as session:
        return await service.reconcile(session, resources.upstream, DEFAULT_WINDOW)
