"""The hub's generic routes, in the shapes the indoxhub SDK (0.2.2) sends: `text_to_speech` posts JSON,
`speech_to_text` a multipart form with the file."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from voicegate.resemble.schemas import Billing
from voicegate.resemble.tts.schemas import MAX_TEXT_CHARS, SampleRate, SynthesizeRead

ModelName = Field(default="resemble/default", min_length=1, max_length=100, description="`provider/model`")
ResponseFormat = Literal["json", "text", "verbose_json", "srt", "vtt"]


class HubTtsExtras(BaseModel):
    """The SDK's `**kwargs`, sent as `additional_params`: the native synthesis options."""

    model_config = ConfigDict(extra="forbid")

    language: str | None = Field(
        default=None, min_length=2, max_length=16, pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$"
    )
    sample_rate: SampleRate | None = None
    precision: Literal["MULAW", "PCM_16", "PCM_24", "PCM_32"] | None = None
    title: str | None = Field(default=None, max_length=255)


class HubTtsCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input: str = Field(min_length=1, max_length=MAX_TEXT_CHARS, description="The text to speak")
    model: str = ModelName
    voice: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="A Resemble voice uuid you may use (GET /api/v1/resemble/tts/voices)",
    )
    response_format: Literal["mp3", "wav"] | None = None
    speed: float | None = Field(default=None, ge=0.5, le=2.0)
    instructions: str | None = Field(
        default=None, max_length=4000, description="Not supported by Resemble's models: a non-empty value is a 400"
    )
    additional_params: HubTtsExtras | None = None
    byok_api_key: str | None = Field(
        default=None, min_length=1, max_length=512, description="Your own provider key; never stored or logged"
    )


class HubTtsRead(SynthesizeRead):
    model: str = Field(description="The catalogue model that served the request")
    provider: str


class TimedWord(BaseModel):
    word: str
    start: float
    end: float


class TranscriptSegment(BaseModel):
    id: int
    seek: int
    start: float
    end: float
    text: str
    tokens: list[int]
    temperature: float
    speaker: str | None


class HubTranscriptionRead(BaseModel):
    """A finished transcription. `segments` (and `words`, when asked for) come with `verbose_json`; `subtitles`
    holds the SubRip or WebVTT document for `srt` and `vtt`."""

    text: str
    model: str
    provider: str
    job_id: str = Field(description="The native STT job (GET /api/v1/resemble/stt/{job_id})")
    response_format: ResponseFormat
    language: str | None = None
    duration: float | None = None
    segments: list[TranscriptSegment] | None = None
    words: list[TimedWord] | None = None
    subtitles: str | None = None
    transcript_url: str | None = Field(default=None, description="Presigned link to the stored transcript")
    billing: Billing | None = None


class PricingRead(BaseModel):
    unit: str = Field(description="What one unit is, e.g. audio_seconds")
    provider_price: str = Field(description="Resemble's price per unit in USD, decimal string")
    markup_pct: str
    price: str = Field(description="What you pay per unit in USD (provider_price plus markup), decimal string")
    currency: str
    verified: bool = Field(description="The provider price is from Resemble's published rate card")


class ModelRead(BaseModel):
    id: str = Field(description="The name to send as `model`")
    name: str
    provider: str
    type: str
    capability: Literal["tts", "stt"]
    description: str
    aliases: list[str]
    default: bool = Field(description="`resemble/default` names this model for its capability")
    streaming: bool
    pricing: PricingRead


class ProviderRead(BaseModel):
    id: str
    name: str
    description: str
    defaults: dict[str, str] = Field(description="The model `resemble/default` names, per capability")
    models: list[ModelRead]


class ProviderList(RootModel[list[ProviderRead]]):
    """Every provider with its models: a JSON array, as the SDK's `client.models()` iterates it."""
