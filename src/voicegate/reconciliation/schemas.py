"""The reconciliation report, as the admin API and `voicegate reconcile --json` render it (money as strings)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

Outcome = Literal["ok", "drift", "resemble_unavailable"]


class ResembleSide(BaseModel):
    available: bool
    source: str = Field(description="The wallet ledger endpoint read")
    total_usd: Decimal | None = Field(description="SUM of the usage_deduction rows in the window; null if unread")
    deductions: int = 0
    error: str | None = None


class Comparison(BaseModel):
    outcome: Outcome
    ours_usd: Decimal = Field(description="SUM(provider_cost_usd) of provider_resemble_usage in the window")
    usage_rows: int
    theirs: ResembleSide
    drift_usd: Decimal | None = Field(description="theirs - ours")
    drift_pct: Decimal | None = Field(description="drift / ours x 100; null when ours is zero and theirs is not")
    threshold_pct: Decimal


class CheckResult(BaseModel):
    name: str
    passed: bool
    count: int = Field(description="Offending rows in total; `offenders` lists the first of them")
    offenders: list[str]


class ReconciliationReport(BaseModel):
    ok: bool = Field(description="No drift beyond the threshold, Resemble's side read, and every check passed")
    window: str
    start: datetime
    end: datetime
    comparison: Comparison
    checks: list[CheckResult]
