from __future__ import annotations

from pydantic import BaseModel, Field


class UploadRead(BaseModel):
    asset_id: str
    url: str = Field(description="Presigned download link to the stored file")
    url_expires_at: str = Field(description="When `url` stops working (ISO 8601, UTC)")
    expires_at: str | None = Field(description="When the file is deleted (ISO 8601, UTC); null: kept permanently")
    asset_class: str = Field(description="Retention class selected by `purpose`, e.g. voice_recordings")
    size_bytes: int
    file_name: str = Field(description="The uploaded file's name, without directories")
    extension: str = Field(description="Canonical extension of the detected type, e.g. wav")
    file_type: str = Field(description="MIME type detected from the file's content, e.g. audio/wav")
