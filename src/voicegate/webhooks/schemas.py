from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from voicegate.webhooks.signing import HEADER_NAMES


class WebhookSecretRead(BaseModel):
    secret: str
    scheme: Literal["standard-webhooks"] = "standard-webhooks"
    headers: list[str] = list(HEADER_NAMES)


class DeliveryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    job_id: str | None
    url: str
    event_type: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime


class DeliveryPage(BaseModel):
    items: list[DeliveryRead]
    page: int
    page_size: int
    total: int
