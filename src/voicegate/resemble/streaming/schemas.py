"""One client message on the streaming socket: an utterance, in Resemble's field names (supplement section 6)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from voicegate.resemble.tts.schemas import MAX_TEXT_CHARS

StreamSampleRate = Literal[8000, 16000, 22050, 32000, 44100]
StreamPrecision = Literal["PCM_16", "PCM_24", "PCM_32"]


class StreamUtterance(BaseModel):
    """Fields Resemble may add later are ignored, as Resemble ignores what it does not know."""

    model_config = ConfigDict(extra="ignore")

    voice_uuid: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    data: str = Field(min_length=1, max_length=MAX_TEXT_CHARS, pattern=r"\S")
    project_uuid: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    model: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    request_id: int | None = Field(default=None, ge=0, le=2**31 - 1)
    binary_response: bool = False
    output_format: Literal["wav"] = "wav"
    sample_rate: StreamSampleRate | None = None
    precision: StreamPrecision | None = None
    no_audio_header: bool = False
