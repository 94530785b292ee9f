from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class StorageRestore(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(
        min_length=1, max_length=1024, description="The asset's storage key, or its `_deleted/` key, to bring back"
    )


class StorageRestored(BaseModel):
    asset_id: str
    key: str = Field(description="The live key the object is back under")
    expires_at: datetime | None = Field(description="The fresh expiry: now plus the class's TTL")
