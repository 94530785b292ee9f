from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from voicegate.resemble.schemas import Billing
from voicegate.resemble.voices.schemas import Subscription

MAX_DESCRIPTION_CHARS = 1000


def _not_blank(value: str | None) -> str | None:
    if value is not None and not value.strip():
        raise ValueError("must not be blank")
    return value


class DesignParams(BaseModel):
    """Options Resemble's generator takes besides the description."""

    model_config = ConfigDict(extra="forbid")

    is_voice_design_trial: bool | None = Field(None, description="Use the account's free trial generation")


class CandidatesCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str = Field(min_length=1, max_length=MAX_DESCRIPTION_CHARS, description="The voice, in words")
    sample_text: str | None = Field(
        None,
        max_length=MAX_DESCRIPTION_CHARS,
        description="Resemble's generator speaks its own sample line and takes no text: giving one is refused (422)",
    )
    params: DesignParams | None = None

    _not_blank = field_validator("description")(_not_blank)

    @field_validator("sample_text")
    @classmethod
    def _no_sample_text(cls, value: str | None) -> str | None:
        if value is not None:
            raise ValueError("Resemble's voice design does not take a sample text; describe the voice instead")
        return value


class Candidate(BaseModel):
    index: int
    audio_url: str | None = Field(description="Presigned link to our copy (kept 14 days under voice-design/)")
    expires_at: str | None = Field(description="When our copy is deleted")
    resemble_url: str | None = Field(description="Resemble's own link (expires after about 4 hours)")


class CandidatesRead(BaseModel):
    design_uuid: str
    candidates: list[Candidate]
    request_id: str
    billing: Billing


class PromoteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    candidate_index: int = Field(ge=0, le=31)
    name: str = Field(min_length=1, max_length=256)
    params: dict[str, Any] | None = Field(None, description="Not used by Resemble's promotion; must be empty")

    _not_blank = field_validator("name")(_not_blank)

    @field_validator("params")
    @classmethod
    def _empty_params(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value:
            raise ValueError("promotion takes no params (Resemble's call accepts only the voice name)")
        return value


class Promoted(BaseModel):
    success: bool
    voice_uuid: str
    design_uuid: str
    candidate_index: int
    request_id: str
    billing: Billing = Field(description="The new voice's first month")
    subscription: Subscription
