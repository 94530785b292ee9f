from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from voicegate.resemble.schemas import Billing

MAX_TOP_K = 20  # Resemble's own maximum for one search

URL_DESCRIPTION = "An upload or other media URL this gateway issued you, or any public http(s) URL of the audio"


class IdentityEnroll(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    url: str = Field(min_length=1, max_length=4096, description=URL_DESCRIPTION)

    @field_validator("name")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value


class IdentitySearch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=4096, description=URL_DESCRIPTION)
    top_k: int = Field(1, ge=1, le=MAX_TOP_K, description="How many of your closest identities to return at most")


class IdentityRead(BaseModel):
    """Resemble's identity item, as it answered the enrollment (it offers no read of one identity)."""

    model_config = ConfigDict(extra="allow")

    uuid: str
    name: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    audio_url: str | None = None
    visibility: str | None = None
    identity_type: str | None = None
    notes: str | None = None
    voice_profile_id: str | None = None
    project_count: int | None = None


class IdentityEnrolled(BaseModel):
    success: bool
    item: IdentityRead
    request_id: str
    billing: Billing


class Match(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str | None = None
    distance: float = Field(description="0-100, higher is closer; 100 is identical audio")
    score_type: str | None = None


class SearchResult(BaseModel):
    success: bool
    modality: str
    item: dict[str, Match] = Field(description="Your closest identities by uuid, closest first")
    request_id: str
    billing: Billing
