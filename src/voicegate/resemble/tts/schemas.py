from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from voicegate.resemble.schemas import Billing

SampleRate = Literal[8000, 16000, 22050, 32000, 44100, 48000]
MAX_TEXT_CHARS = 3000  # Resemble's documented limit for /synthesize


class SynthesizeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    voice_uuid: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    output_format: Literal["wav", "mp3"] = "mp3"
    precision: Literal["MULAW", "PCM_16", "PCM_24", "PCM_32"] | None = None
    sample_rate: SampleRate | None = None
    language: str | None = Field(
        default=None, min_length=2, max_length=16, pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$"
    )
    speed: float | None = Field(default=None, ge=0.5, le=2.0)
    title: str | None = Field(default=None, max_length=255)

    @field_validator("sample_rate", mode="before")
    @classmethod
    def _sample_rate_as_int(cls, value: object) -> object:
        if isinstance(value, str) and value.isdigit():
            return int(value)
        return value

    @field_validator("text")
    @classmethod
    def _text_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text must not be blank")
        return value


class SynthesizeRead(BaseModel):
    request_id: str
    audio_content: str
    audio_duration: float
    output_format: str
    sample_rate: int | None
    audio_url: str | None
    expires_at: str | None
    resemble_url: str | None
    billing: Billing
    raw_response: dict[str, Any]


class Voice(BaseModel):
    """One voice as Resemble describes it; fields Resemble adds later are passed through unchanged."""

    model_config = ConfigDict(extra="allow")

    uuid: str
    name: str | None = None
    status: str | None = None
    default_language: str | None = None
    supported_languages: list[str] | None = None
    voice_type: str | None = None
    voice_status: str | None = None
    source: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    component_status: dict[str, Any] | None = None
    api_support: dict[str, Any] | None = None


class VoicePage(BaseModel):
    """A page of the voices the caller may use, in Resemble's envelope; the counts cover only those voices."""

    model_config = ConfigDict(extra="allow")

    success: bool | None = None
    page: int | None = None
    num_pages: int | None = None
    page_size: int | None = None
    total_count: int | None = None
    items: list[Voice]


class VoiceItem(BaseModel):
    model_config = ConfigDict(extra="allow")

    success: bool | None = None
    item: Voice
