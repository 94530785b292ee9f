from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from voicegate.admin.schemas import KeyRead


class CapabilityUsage(BaseModel):
    capability: str
    unit: str
    requests: int
    quantity: str = Field(description="Billed units in total, decimal string")
    charged_usd: str = Field(description="USD, decimal string")


class UsageRead(BaseModel):
    user_id: str
    email: str
    tier: str
    credits_usd: str = Field(description="Remaining credit in USD, decimal string")
    remaining_credits: str = Field(description="Same as credits_usd (the indoxhub SDK's name), decimal string")
    total_spent_usd: str = Field(description="USD, decimal string")
    total_requests: int = Field(description="Billed calls in total, every capability")
    by_capability: list[CapabilityUsage]


class SpendDay(BaseModel):
    date: str = Field(description="UTC calendar day, YYYY-MM-DD")
    by_capability: dict[str, str] = Field(description="USD charged that day per capability, decimal strings")
    total_usd: str = Field(description="USD, decimal string")


class SpendRead(BaseModel):
    """What the caller was charged per UTC day over the last `days` days (today included), oldest day first."""

    days: int
    capabilities: list[str]
    by_day: list[SpendDay]
    totals: dict[str, str] = Field(description="USD per capability over the window, decimal strings")
    total_usd: str = Field(description="USD over the window, decimal string")


class ActivityBilling(BaseModel):
    unit: str
    quantity: str = Field(description="Billed units, decimal string")
    provider_cost_usd: str = Field(description="USD, decimal string")
    markup_pct: str = Field(description="Percent, decimal string")
    charged_usd: str = Field(description="USD, decimal string")


class ActivityMedia(BaseModel):
    content_type: str
    size_bytes: int
    expires_at: datetime | None = Field(description="Null for permanent media")
    url: str | None = Field(description="A fresh download link; null once retention has deleted the media")


class ActivityItem(BaseModel):
    request_id: str
    created_at: datetime
    capability: str
    operation: str
    status: str
    billing: ActivityBilling | None
    media: ActivityMedia | None


class ActivityPage(BaseModel):
    items: list[ActivityItem]
    page: int
    has_more: bool


class KeyList(BaseModel):
    """The caller's API keys, newest first; never their secrets."""

    items: list[KeyRead]
