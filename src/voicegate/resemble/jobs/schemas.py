"""Request bodies of the asynchronous capabilities, in the shapes the indoxhub SDK sends, and what they answer."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from voicegate.resemble.schemas import Billing

Url = Field(min_length=8, max_length=4096, pattern=r"^https?://")
OptionalUrl = Field(default=None, min_length=8, max_length=4096, pattern=r"^https?://")
CallbackUri = Field(default=None, min_length=8, max_length=2048, pattern=r"^https?://")


class JobSubmit(BaseModel):
    """Common to every job: the media URL and an optional `callback_uri` for the final result."""

    model_config = ConfigDict(extra="forbid")

    audio_url: str | None = OptionalUrl
    callback_uri: str | None = CallbackUri

    def media_url(self) -> str:
        assert self.audio_url is not None
        return self.audio_url

    def voices(self) -> tuple[str, ...]:
        """The voices the job speaks with; each must be one the caller may use (`resemble.voices.access`)."""
        return ()

    def options(self) -> dict[str, Any]:
        """Capability fields forwarded to Resemble (everything but the media and our own callback)."""
        return self.model_dump(
            exclude_none=True, exclude={"audio_url", "callback_uri", "video_url", "image_url", "url"}
        )


class AudioRequired(JobSubmit):
    audio_url: str = Url


class SttSubmit(AudioRequired):
    language: str | None = Field(default=None, min_length=2, max_length=16)
    query: str | None = Field(default=None, min_length=1, max_length=2000)

    def options(self) -> dict[str, Any]:
        # Resemble detects the language itself; `language` is accepted for the SDK and kept with the job.
        return self.model_dump(exclude_none=True, include={"query"})


class EnhanceSubmit(AudioRequired):
    remove_noise: bool | None = None
    normalize: bool | None = None
    studio_sound: bool | None = None


class EditSubmit(AudioRequired):
    original_transcript: str = Field(min_length=1, max_length=5000)
    target_transcript: str = Field(min_length=1, max_length=5000)
    voice_uuid: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")

    def voices(self) -> tuple[str, ...]:
        return (self.voice_uuid,)


class AnyMediaSubmit(JobSubmit):
    """Detect and intelligence take audio, video or images: exactly one media URL field."""

    video_url: str | None = OptionalUrl
    image_url: str | None = OptionalUrl
    url: str | None = OptionalUrl

    @model_validator(mode="after")
    def _exactly_one_media_url(self) -> AnyMediaSubmit:
        given = [u for u in (self.audio_url, self.video_url, self.image_url, self.url) if u]
        if len(given) != 1:
            raise ValueError("give exactly one of audio_url, video_url, image_url or url")
        return self

    def media_url(self) -> str:
        return next(u for u in (self.audio_url, self.video_url, self.image_url, self.url) if u)


class DetectSubmit(AnyMediaSubmit):
    modality: Literal["audio", "video", "all"] | None = None
    visualize: bool | None = None
    intelligence: bool | None = None
    audio_source_tracing: bool | None = None
    frame_length: int | None = Field(default=None, ge=1, le=4)
    start_region: float | None = Field(default=None, ge=0)
    end_region: float | None = Field(default=None, ge=0)
    max_video_secs: float | None = Field(default=None, gt=0)
    use_ood_detector: bool | None = None


class IntelligenceSubmit(AnyMediaSubmit):
    media_type: Literal["audio", "video", "image"] | None = None


class TracingSubmit(AudioRequired):
    def options(self) -> dict[str, Any]:
        return {"audio_source_tracing": True}


class WatermarkApplySubmit(AudioRequired):
    output_format: Literal["default", "source"] | None = None
    strength: float | None = Field(default=None, ge=0, le=1)
    custom_message: str | None = Field(default=None, min_length=1, max_length=64)


class WatermarkDetectSubmit(AudioRequired):
    custom_message: str | None = Field(default=None, min_length=1, max_length=64)


JobStatus = Literal["pending", "processing", "completed", "failed"]


class JobRead(BaseModel):
    """A job as we track it, with Resemble's latest result fields (which differ per capability) merged in.

    Our fields win over Resemble's of the same name. The links and the bill appear once the job is completed.
    """

    model_config = ConfigDict(extra="allow")

    job_id: str
    capability: str = Field(description="The route the job was submitted to, e.g. stt or watermark/apply")
    status: JobStatus
    error: str | None
    created_at: str
    completed_at: str | None
    audio_url: str | None = Field(default=None, description="Presigned link to our copy of the output")
    transcript_url: str | None = Field(default=None, description="stt: presigned link to the stored transcript")
    expires_at: str | None = Field(default=None, description="When the stored output is deleted (ISO 8601, UTC)")
    asset_expired: bool = Field(
        default=False, description="The stored output passed `expires_at` and was deleted: no link is issued"
    )
    resemble_url: str | None = Field(default=None, description="Resemble's own link to the output")
    billing: Billing | None = None


class JobSummary(BaseModel):
    job_id: str
    status: JobStatus
    created_at: str
    completed_at: str | None
    error: str | None


class JobPage(BaseModel):
    items: list[JobSummary]
    page: int
    page_size: int
    total: int
    num_pages: int


class CallbackAck(BaseModel):
    received: bool
    duplicate: bool = Field(description="This callback was already stored; nothing more happens")
    signed: bool = Field(description="The callback carried a valid signature")
