from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ByokPut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    api_key: str = Field(
        min_length=8,
        max_length=512,
        pattern=r"^[\x21-\x7e]+$",
        description="Your own Resemble API key; checked with Resemble, then kept encrypted",
    )


class ByokRead(BaseModel):
    """What the gateway shows of a stored key: never the key, only its last four characters."""

    provider: Literal["resemble"]
    last4: str
    created_at: datetime
    validated_at: datetime
