from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from voicegate.openai_compat.audio import SpeechFormat
from voicegate.resemble.tts.schemas import MAX_TEXT_CHARS


class VoiceRef(BaseModel):
    """OpenAI's object form of `voice` (`{"id": ...}`), naming a voice by its id."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=64)


class SpeechCreate(BaseModel):
    """OpenAI's `POST /v1/audio/speech` body. `input` is capped at Resemble's synthesis limit (3,000 characters,
    OpenAI allows 4,096); `speed` takes OpenAI's range, of which Resemble speaks 0.5-2.0."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1, max_length=100)
    input: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    voice: str | VoiceRef
    response_format: SpeechFormat = "mp3"
    speed: float = Field(default=1.0, ge=0.25, le=4.0)
    instructions: str | None = Field(default=None, max_length=4096)
    stream_format: Literal["audio", "sse"] | None = None

    @field_validator("input")
    @classmethod
    def _input_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("input must not be blank")
        return value

    @field_validator("voice")
    @classmethod
    def _voice_not_blank(cls, value: str | VoiceRef) -> str | VoiceRef:
        if isinstance(value, str) and not value.strip():
            raise ValueError("voice must not be blank")
        return value
