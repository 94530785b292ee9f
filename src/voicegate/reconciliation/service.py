"""Reconciliation (seeds: "24 h rolling, drift threshold ±1 %"): what we think Resemble charged against what it says.

Ours is SUM(provider_cost_usd) of `provider_resemble_usage` over the window; theirs is SUM of the `usage_deduction`
rows of Resemble's wallet ledger over the same window. A drift beyond the threshold logs an error with the
figures; the Prometheus gauges show the last run. The same report runs four internal checks: every user's balance
equals the sum of their ledger, no credit hold is open past its TTL (beyond the sweep's grace), every completed
job has exactly one usage row, and every usage row has its request row.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from voicegate import metrics
from voicegate.errors import GatewayError
from voicegate.kit.money import quantize_usd
from voicegate.kit.time import utc_now
from voicegate.reconciliation import repository
from voicegate.reconciliation.schemas import CheckResult, Comparison, Outcome, ReconciliationReport, ResembleSide
from voicegate.reconciliation.window import parse_window
from voicegate.upstream import billing
from voicegate.upstream.client import ResembleClient

log = logging.getLogger(__name__)

DRIFT_THRESHOLD_PCT = Decimal(1)  # seeds: "Drift threshold: ±1 %"
# The hold sweep runs every minute; a hold a few minutes past its TTL is the sweep's next item, not a leak.
HOLD_SWEEP_GRACE = timedelta(minutes=5)
OFFENDERS_LISTED = 100


async def reconcile(
    session: AsyncSession, upstream: ResembleClient, window: str, now: datetime | None = None
) -> ReconciliationReport:
    """Compare both sides over `window` ending `now`, run the internal checks, log and set the gauges."""
    span = parse_window(window)
    end = now or utc_now()
    start = end - span
    ours, rows = await repository.provider_cost_between(session, start, end)
    await session.commit()  # end the read snapshot before the network call; the checks read the database anew
    theirs = await _resemble_side(upstream, start, end)
    comparison = _compare(quantize_usd(ours), rows, theirs)
    checks = await _checks(session, end)
    report = ReconciliationReport(
        ok=comparison.outcome == "ok" and all(check.passed for check in checks),
        window=window,
        start=start,
        end=end,
        comparison=comparison,
        checks=checks,
    )
    _record(report)
    return report


async def _resemble_side(upstream: ResembleClient, start: datetime, end: datetime) -> ResembleSide:
    source = f"{upstream.billing_url}/wallet/transactions"
    try:
        found = await billing.transactions_since(upstream, start)
    except GatewayError as exc:
        # The error's extras (an upstream status, why a body was unreadable) are what an operator acts on.
        error = f"{exc.detail} {exc.extra}" if exc.extra else str(exc.detail)
        log.warning("reconciliation_resemble_unavailable", extra={"source": source, "error": error})
        return ResembleSide(available=False, source=source, total_usd=None, error=error)
    deductions = [t for t in found if t.transaction_type == billing.USAGE_DEDUCTION and t.created_at < end]
    cents = sum((-t.amount_cents for t in deductions), Decimal(0))  # a deduction is a negative amount
    return ResembleSide(available=True, source=source, total_usd=quantize_usd(cents / 100), deductions=len(deductions))


def _compare(ours: Decimal, rows: int, theirs: ResembleSide) -> Comparison:
    drift_usd = drift_pct = None
    outcome: Outcome = "resemble_unavailable"
    if theirs.total_usd is not None:
        drift_usd = theirs.total_usd - ours
        if ours:
            drift_pct = drift_usd / ours * 100
            outcome = "drift" if abs(drift_pct) > DRIFT_THRESHOLD_PCT else "ok"
            drift_pct = drift_pct.quantize(Decimal("0.0001"))
        else:
            drift_pct = Decimal(0) if not drift_usd else None
            outcome = "drift" if drift_usd else "ok"
    return Comparison(
        outcome=outcome,
        ours_usd=ours,
        usage_rows=rows,
        theirs=theirs,
        drift_usd=drift_usd,
        drift_pct=drift_pct,
        threshold_pct=DRIFT_THRESHOLD_PCT,
    )


async def _checks(session: AsyncSession, now: datetime) -> list[CheckResult]:
    mismatches, mismatch_count = await repository.balance_mismatches(session, OFFENDERS_LISTED)
    holds = await repository.holds_open_before(session, now - HOLD_SWEEP_GRACE, OFFENDERS_LISTED)
    jobs = await repository.completed_jobs_without_one_usage(session, OFFENDERS_LISTED)
    orphans = await repository.usage_without_request(session, OFFENDERS_LISTED)
    await session.commit()
    return [
        CheckResult(
            name="ledger_matches_balance",
            passed=mismatch_count == 0,
            count=mismatch_count,
            offenders=[f"{m.user_id}: balance {m.balance_usd}, ledger {m.ledger_usd}" for m in mismatches],
        ),
        _check("no_hold_past_ttl", holds),
        _check("completed_job_has_one_usage", jobs),
        _check("usage_has_request", orphans),
    ]


def _check(name: str, offenders: repository.Offenders) -> CheckResult:
    return CheckResult(name=name, passed=offenders.count == 0, count=offenders.count, offenders=offenders.ids)


def _record(report: ReconciliationReport) -> None:
    comparison = report.comparison
    figures = {
        "window": report.window,
        "ours_usd": str(comparison.ours_usd),
        "theirs_usd": str(comparison.theirs.total_usd),
        "drift_usd": str(comparison.drift_usd),
        "drift_pct": str(comparison.drift_pct),
        "threshold_pct": str(comparison.threshold_pct),
    }
    if comparison.outcome == "drift":
        log.error("reconciliation_drift", extra=figures)
    for check in report.checks:
        if not check.passed:
            log.error("reconciliation_check_failed", extra={"check": check.name, "count": check.count})
    if comparison.drift_usd is not None:
        ours = comparison.ours_usd
        # A gauge is a float at the exposition boundary; the report keeps the exact Decimal.
        ratio = float(comparison.drift_usd / ours) if ours else (float("inf") if comparison.drift_usd else 0.0)
        metrics.reconciliation_drift.set(ratio)
    metrics.reconciliation_ok.set(1 if report.ok else 0)
    log.info("reconciliation_run", extra={**figures, "ok": report.ok, "outcome": comparison.outcome})
