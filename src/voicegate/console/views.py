"""View models: what each page shows, built from service results. Templates only lay these out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from voicegate.db.models import ApiKey
from voicegate.user.schemas import SpendRead, UsageRead


@dataclass(frozen=True)
class CapabilityTotal:
    capability: str
    charged: Decimal


@dataclass(frozen=True)
class Overview:
    email: str
    balance: Decimal
    days: int
    total_requests: int
    totals: list[CapabilityTotal]
    total: Decimal
    chart: dict[str, Any]
    """Chart.js data for the spend chart; amounts stay decimal strings (the browser only draws them)."""


def overview(usage: UsageRead, spend: SpendRead) -> Overview:
    return Overview(
        email=usage.email,
        balance=Decimal(usage.credits_usd),
        days=spend.days,
        total_requests=usage.total_requests,
        totals=[CapabilityTotal(capability, Decimal(amount)) for capability, amount in spend.totals.items()],
        total=Decimal(spend.total_usd),
        chart={
            "type": "bar",
            "stacked": True,
            "labels": [day.date for day in spend.by_day],
            "datasets": [
                {"label": capability, "data": [day.by_capability[capability] for day in spend.by_day]}
                for capability in spend.capabilities
            ],
        },
    )


@dataclass(frozen=True)
class KeyRow:
    id: str
    prefix: str
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def key_rows(keys: list[ApiKey]) -> list[KeyRow]:
    return [KeyRow(k.id, k.prefix, k.name, k.created_at, k.last_used_at, k.revoked_at) for k in keys]


@dataclass(frozen=True)
class ActivityFilters:
    capability: str
    status: str

    def query(self, page: int) -> str:
        """The listing's query string for `page`, keeping the filters (urlencoded by the template)."""
        parts = {"capability": self.capability, "status": self.status, "page": str(page)}
        return urlencode({name: value for name, value in parts.items() if value})
