from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

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


class Billing(BaseModel):
    unit: str
    quantity: float
    unit_price: str
    provider_cost: str
    markup_pct: str
    charged: str
    currency: str


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
