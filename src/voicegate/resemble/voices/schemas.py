"""Wire shapes of cloned voices and their recordings."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from voicegate.resemble.schemas import Billing
from voicegate.resemble.tts.schemas import Voice

VoiceType = Literal["rapid", "professional"]
UPSTREAM_ID = r"^[A-Za-z0-9_-]{1,64}$"


def _not_blank(value: str | None) -> str | None:
    if value is not None and not value.strip():
        raise ValueError("must not be blank")
    return value


class VoiceCreate(BaseModel):
    """`consent_text` is optional in the SDK's signature but required here: cloning needs the speaker's consent."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=256)
    consent_text: str | None = Field(
        None,
        max_length=5000,
        description="The speaker's consent to be cloned, in their words; required (422 without it)",
    )
    description: str | None = Field(None, max_length=2000)
    voice_type: VoiceType = Field("rapid", description="rapid (1+ recordings) or professional (3+ recordings)")
    language: str | None = Field(None, min_length=2, max_length=16, pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")

    _not_blank = field_validator("name", "consent_text")(_not_blank)

    @model_validator(mode="after")
    def _consent_given(self) -> VoiceCreate:
        if self.consent_text is None:
            raise ValueError("consent_text is required: cloning a voice needs the speaker's consent")
        return self


class VoiceBuild(BaseModel):
    model_config = ConfigDict(extra="forbid")

    recording_ids: list[str] | None = Field(
        None,
        min_length=1,
        max_length=500,
        description="Build from exactly these recordings of the voice (the others are set inactive first)",
    )

    @field_validator("recording_ids")
    @classmethod
    def _ids(cls, value: list[str] | None) -> list[str] | None:
        for item in value or []:
            if not re.fullmatch(UPSTREAM_ID, item):
                raise ValueError(f"not a recording id: {item!r}")
        return list(dict.fromkeys(value)) if value is not None else None


class Subscription(BaseModel):
    """The voice's monthly billing: Resemble bills a cloned voice per month while it exists."""

    voice_type: str
    build_status: str
    suspended: bool
    suspended_at: str | None
    current_period_start: str | None
    current_period_end: str | None
    paid_through: str | None = Field(description="End of the last paid month")
    monthly_price: str = Field(description="USD per month, what we charge, decimal string")


class OwnVoice(Voice):
    subscription: Subscription | None = None


class VoiceEnvelope(BaseModel):
    success: bool
    item: OwnVoice


class VoiceBuilt(BaseModel):
    success: bool
    message: str | None = None
    voice_uuid: str
    request_id: str | None = Field(description="The billed request, when this build started a paid month")
    billing: Billing | None = Field(description="The first month's charge; null for a rebuild within a paid month")
    subscription: Subscription


class RecordingFields(BaseModel):
    """A training recording; `url` (or `audio_url`) is an upload of yours (purpose=voice_clone) or a public URL."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    url: str = Field(
        min_length=1,
        max_length=2048,
        validation_alias=AliasChoices("url", "audio_url"),
        description="The recording's audio (alias: audio_url)",
    )
    name: str = Field(min_length=1, max_length=256)
    text: str = Field(min_length=1, max_length=1024, description="What is said in the recording")
    emotion: str = Field("neutral", min_length=1, max_length=64)
    is_active: bool = True
    fill: bool | None = None

    _not_blank = field_validator("name", "text", "url")(_not_blank)


class RecordingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fields: RecordingFields


class RecordingChanges(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=256)
    text: str | None = Field(None, min_length=1, max_length=1024)
    emotion: str | None = Field(None, min_length=1, max_length=64)
    is_active: bool | None = None
    fill: bool | None = None

    _not_blank = field_validator("name", "text", "emotion")(_not_blank)

    @model_validator(mode="after")
    def _something_to_change(self) -> RecordingChanges:
        if not self.model_dump(exclude_none=True):
            raise ValueError("give at least one of name, text, emotion, is_active, fill")
        return self


class RecordingUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fields: RecordingChanges


class RecordingRead(BaseModel):
    model_config = ConfigDict(extra="allow")

    uuid: str
    name: str | None = None
    text: str | None = None
    emotion: str | None = None
    is_active: bool | None = None
    audio_src: str | None = None
    created_at: str | None = None
    updated_at: str | None = None


class StoredAudio(BaseModel):
    """Our permanent copy of the recording's audio under `voice-recordings/`."""

    asset_id: str
    audio_url: str = Field(description="Presigned link to our copy")
    url_expires_at: str
    size_bytes: int


class RecordingEnvelope(BaseModel):
    success: bool
    item: RecordingRead
    stored_audio: StoredAudio | None = Field(description="Null only if storage failed; the recording still exists")
