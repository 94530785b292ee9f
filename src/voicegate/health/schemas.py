from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class CheckRead(BaseModel):
    ok: bool
    required: bool = Field(description="A required component that is down makes the gateway unavailable (503)")
    backend: str = Field(description="What was checked: postgresql, sqlite, redis, memory, local, s3 or r2")
    latency_ms: float = Field(description="How long the check took, bounded by the check timeout")
    error: str | None = Field(default=None, description="Why the check failed; absent when it passed")


class ReadinessChecks(BaseModel):
    database: CheckRead
    redis: CheckRead
    storage: CheckRead


class ReadinessRead(BaseModel):
    status: Literal["ok", "degraded", "unavailable"] = Field(
        description="ok: all checks pass; degraded: only Redis is down (limits are not enforced, traffic is "
        "served); unavailable: the database or storage is down (answered 503)"
    )
    checks: ReadinessChecks
