from __future__ import annotations

from pydantic import BaseModel, Field


class UploadRead(BaseModel):
    asset_id: str
    url: str | None = Field(description="Presigned download link to the stored file; null once it expired")
    url_expires_at: str | None = Field(description="When `url` stops working (ISO 8601, UTC)")
    expires_at: str | None = Field(description="When the file is deleted (ISO 8601, UTC); null: kept permanently")
    asset_expired: bool = Field(
        default=False, description="The file passed `expires_at` and was deleted: no link is issued for it any more"
    )
    asset_class: str = Field(description="Retention class selected by `purpose`, e.g. voice_recordings")
    size_bytes: int
    file_name: str = Field(description="The uploaded file's name, without directories")
    extension: str = Field(description="Canonical extension of the detected type, e.g. wav")
    file_type: str = Field(description="MIME type detected from the file's content, e.g. audio/wav")
