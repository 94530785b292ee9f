"""The account's wallet: Resemble's own record of what it charged, served as `GET /wallet/transactions`.

Every billed operation the simulator serves records a `usage_deduction` priced by `RATES`: Resemble's published
prices, i.e. the provider cost the gateway's rate card assumes. A job is charged when it completes (a failed or
hung job never is), computed lazily from the clock like the job's status. The billing server is unconfirmed
(RESEMBLE_API.md, section 1), so the ledger answers both under the app API (`/api/v2/wallet/transactions`, the
per-path server) and under the spec's top-level billing server (`/billing/api/v1/wallet/transactions`).

`POST /_sim/billing {"skew_pct": N}` makes every later deduction N % dearer, so a reconciliation can be made to
drift on purpose.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request

from .errors import SimulatorError
from .params import FieldErrors, int_query

if TYPE_CHECKING:
    from .jobs import Job

# USD per unit: the same figures as the gateway's rate card defaults (the simulator imports nothing from it).
RATES: Mapping[str, Decimal] = MappingProxyType(
    {
        "tts": Decimal("0.0005"),
        "stt": Decimal("0.001"),
        "detect_audio": Decimal("0.001"),
        "detect_video": Decimal("0.07"),
        "detect_image": Decimal("0.01"),
        "watermark_apply": Decimal("0.0005"),
        "watermark_detect": Decimal("0.0002"),
        "enhance": Decimal("0.0005"),
        "edit": Decimal("0.0005"),
        "intelligence": Decimal("0.01"),
        "identity_search": Decimal("0.005"),
        "identity_enroll": Decimal("0.01"),
        "voice_design": Decimal("0.05"),
        "voice_clone_rapid": Decimal("2.00"),
        "voice_clone_professional": Decimal("5.00"),
    }
)
OPENING_CENTS = Decimal("100000")  # a $1,000 credit purchase when the simulator starts
MAX_SKEW_PCT = Decimal(1000)
PER_PAGE_DEFAULT, PER_PAGE_MAX = 10, 100
# Wallet amounts are cents with fractions (`number`, double); four places of a cent is the gateway's micro-dollar.
_CENT_PLACES = Decimal("0.0001")
_DURATION_KINDS = frozenset({"stt", "enhance", "edit", "watermark_apply", "watermark_detect"})


@dataclass(frozen=True)
class _Pending:
    due: float  # monotonic moment the charge lands
    at: datetime
    cents: Decimal
    description: str
    metadata: dict[str, Any]


class Wallet:
    """The ledger, newest first when listed. A lock guards it: tests may read it from another thread."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._skew_pct = Decimal(0)
        self._pending: list[_Pending] = []
        self._balance = Decimal(0)
        self._ledger: list[dict[str, Any]] = []
        self._voices_paid: set[str] = set()
        self._post("credit_purchase", OPENING_CENTS, datetime.now(UTC), "Opening credit", {})

    @property
    def skew_pct(self) -> Decimal:
        with self._lock:
            return self._skew_pct

    def set_skew(self, pct: Decimal) -> None:
        with self._lock:
            self._skew_pct = pct

    def charge(self, rate_key: str, quantity: Decimal, *, delay_s: float = 0.0, started: float | None = None) -> None:
        """Deduct `quantity` units of `rate_key` once `delay_s` has passed since `started` (default: now)."""
        with self._lock:
            usd = RATES[rate_key] * quantity * (1 + self._skew_pct / 100)
            cents = (usd * 100).quantize(_CENT_PLACES, rounding=ROUND_HALF_UP)
            base = self._clock() if started is None else started
            at = datetime.now(UTC) + timedelta(seconds=max(0.0, base + delay_s - self._clock()))
            metadata = {"operation": rate_key, "quantity": str(quantity)}
            self._pending.append(_Pending(base + delay_s, at, -cents, f"Usage: {rate_key}", metadata))

    def charge_job(self, job: Job, delay_s: float) -> None:
        """Charge a job that will complete; the deduction lands when it does."""
        billed = _job_billing(job)
        if job.outcome == "complete" and billed is not None:
            self.charge(*billed, delay_s=delay_s, started=job.started)

    def charge_voice_month(self, voice_uuid: str, voice_type: str) -> None:
        """A custom voice's first month, when its first build starts (a rebuild within the month is free). The
        simulator runs for less than a month, so it bills no renewals."""
        with self._lock:
            if voice_uuid in self._voices_paid:
                return
            self._voices_paid.add(voice_uuid)
        rate = "voice_clone_professional" if voice_type == "professional" else "voice_clone_rapid"
        self.charge(rate, Decimal(1))

    def state(self) -> dict[str, Any]:
        with self._lock:
            self._settle()
            deductions = sum(1 for row in self._ledger if row["transaction_type"] == "usage_deduction")
            return {
                "skew_pct": str(self._skew_pct),
                "balance_cents": str(self._balance),
                "deductions": deductions,
                "pending": len(self._pending),
            }

    def transactions(self) -> list[dict[str, Any]]:
        with self._lock:
            self._settle()
            return [dict(row) for row in reversed(self._ledger)]

    def _settle(self) -> None:
        now = self._clock()
        due = sorted((item for item in self._pending if item.due <= now), key=lambda item: item.due)
        for item in due:
            self._pending.remove(item)
            self._post("usage_deduction", item.cents, item.at, item.description, item.metadata)

    def _post(self, kind: str, cents: Decimal, at: datetime, description: str, metadata: dict[str, Any]) -> None:
        self._balance += cents
        self._ledger.append(
            {
                "id": next(self._ids),
                "transaction_type": kind,
                "amount_cents": cents,
                "balance_after_cents": self._balance,
                "description": description,
                "metadata": metadata,
                "created_at": at.isoformat(timespec="microseconds").replace("+00:00", "Z"),
            }
        )


def _job_billing(job: Job) -> tuple[str, Decimal] | None:
    """The rate and quantity Resemble bills for a completed job; None when it bills nothing we can price."""
    data = job.data
    duration = data.get("duration")
    seconds = Decimal(str(round(duration, 6))) if isinstance(duration, int | float) else None
    if job.kind == "intelligence":
        return "intelligence", Decimal(1)
    if job.kind == "detect":
        media_type = data.get("media_type")
        if media_type == "image":
            return "detect_image", Decimal(1)
        rate = "detect_video" if media_type == "video" else "detect_audio"
        return (rate, seconds) if seconds is not None else None
    if job.kind in _DURATION_KINDS and seconds is not None:
        return job.kind, seconds
    return None


def get_wallet(request: Request) -> Wallet:
    wallet = request.app.state.simulator.jobs.wallet
    assert isinstance(wallet, Wallet)
    return wallet


router = APIRouter()


@router.get("/api/v2/wallet/transactions")
@router.get("/billing/api/v1/wallet/transactions")
async def list_transactions(request: Request) -> dict[str, Any]:
    """`BillingTransactionsResponse`: newest first, `page`/`per_page` (<= 100), or `limit` without pagination."""
    query = request.query_params
    errors = FieldErrors()
    limit = int_query(query, "limit", errors, default=0, minimum=1) if query.get("limit") else None
    page = int_query(query, "page", errors, default=1, minimum=1) or 1
    per_page = int_query(query, "per_page", errors, default=PER_PAGE_DEFAULT, minimum=1, maximum=PER_PAGE_MAX)
    if errors.errors:
        raise SimulatorError(400, "; ".join(f"{field} {msgs[0]}" for field, msgs in errors.errors.items()))
    rows = [_wire(row) for row in get_wallet(request).transactions()]
    if limit is not None:
        return {"transactions": rows[:limit]}
    size = per_page or PER_PAGE_DEFAULT
    total_pages = max(1, -(-len(rows) // size))
    return {
        "transactions": rows[(page - 1) * size : page * size],
        "pagination": {"page": page, "per_page": size, "total_count": len(rows), "total_pages": total_pages},
    }


def _wire(row: dict[str, Any]) -> dict[str, Any]:
    """Amounts are JSON numbers on the wire, as the spec types them."""
    return {**row, "amount_cents": float(row["amount_cents"]), "balance_after_cents": float(row["balance_after_cents"])}
