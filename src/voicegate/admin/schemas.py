from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from voicegate.ratelimit.rules import DEFAULT_TIER, Tier

MAX_GRANT_USD = Decimal("1000000")


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    credits_usd: Decimal = Field(default=Decimal(0), ge=0, le=MAX_GRANT_USD, decimal_places=6)
    tier: Tier = DEFAULT_TIER


class UserUpdate(BaseModel):
    """An admin change to a user. The tier picks the user's rate-limit row and applies within 5 s everywhere."""

    model_config = ConfigDict(extra="forbid")

    tier: Tier


class CreditsGrant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount_usd: Decimal = Field(ge=-MAX_GRANT_USD, le=MAX_GRANT_USD, decimal_places=6)
    note: str | None = Field(default=None, max_length=255)


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="default", min_length=1, max_length=100)


class KeyRead(BaseModel):
    id: str
    prefix: str
    name: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class KeyCreated(KeyRead):
    api_key: str


class UserRead(BaseModel):
    id: str
    email: str
    tier: str
    credits_usd: str
    created_at: datetime
    erased_at: datetime | None = None
    """Set once the user's erasure (GDPR) has finished; their email is then a pseudonym."""
    keys: list[KeyRead] = []


class UserCreated(BaseModel):
    id: str
    email: str
    tier: str
    credits_usd: str
    api_key: str
