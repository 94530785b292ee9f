from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from voicegate.resemble.tts.schemas import MAX_TEXT_CHARS, Billing

ClipSampleRate = Literal[8000, 16000, 22050, 44100]  # Resemble's clip endpoint (supplement section 5)


def _not_blank(value: str | None) -> str | None:
    if value is not None and not value.strip():
        raise ValueError("must not be blank")
    return value


class ProjectCreate(BaseModel):
    """The SDK sends `name` and whatever else the caller passed; Resemble requires all four fields."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=255)
    description: str = Field("", max_length=2000)
    is_collaborative: bool = False
    is_archived: bool = False

    _name_not_blank = field_validator("name")(_not_blank)


class ProjectUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=255)
    description: str | None = Field(None, max_length=2000)
    is_collaborative: bool | None = None
    is_archived: bool | None = None

    _name_not_blank = field_validator("name")(_not_blank)

    @model_validator(mode="after")
    def _something_to_change(self) -> ProjectUpdate:
        if not self.model_dump(exclude_none=True):
            raise ValueError("give at least one of name, description, is_collaborative, is_archived")
        return self


class ProjectRead(BaseModel):
    model_config = ConfigDict(extra="allow")

    uuid: str
    name: str | None = None
    description: str | None = None
    is_collaborative: bool | None = None
    is_archived: bool | None = None
    created_at: str | None = None
    updated_at: str | None = None


class ClipFields(BaseModel):
    """Clip creation is synchronous here (it is billed on the audio it returns), so there is no `callback_uri`."""

    model_config = ConfigDict(extra="forbid")

    body: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    voice_uuid: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    title: str | None = Field(None, max_length=255)
    is_archived: bool = False
    output_format: Literal["wav", "mp3"] = "wav"
    sample_rate: ClipSampleRate = 22050
    precision: Literal["MULAW", "PCM_16", "PCM_24", "PCM_32"] | None = None
    include_timestamps: bool = False

    _body_not_blank = field_validator("body")(_not_blank)

    @field_validator("sample_rate", mode="before")
    @classmethod
    def _sample_rate_as_int(cls, value: object) -> object:
        if isinstance(value, str) and value.isdigit():
            return int(value)
        return value


class ClipCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fields: ClipFields


class ClipRead(BaseModel):
    model_config = ConfigDict(extra="allow")

    uuid: str
    title: str | None = None
    body: str | None = None
    voice_uuid: str | None = None
    is_archived: bool | None = None
    audio_src: str | None = None
    created_at: str | None = None
    updated_at: str | None = None


class ClipCreated(BaseModel):
    """The new clip plus what the synthesize route answers: the mirrored audio and the charge."""

    success: bool
    request_id: str
    item: ClipRead
    audio_duration: float
    output_format: str
    audio_url: str | None
    expires_at: str | None
    resemble_url: str | None
    billing: Billing
