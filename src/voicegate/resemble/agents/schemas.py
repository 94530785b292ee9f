"""Request and response shapes of the agents family. Requests wrap their fields as `{"fields": {...}}` (the SDK's
envelope); every field Resemble documents is typed so a bad one is a 422 naming it, before any upstream call."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from voicegate.resemble.ownership.kinds import UPSTREAM_ID_PATTERN

HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
AudioFormat = Literal["pcm_8000", "pcm_16000", "pcm_22050", "pcm_24000", "pcm_44100", "pcm_48000", "ulaw_8000"]


def upstream_id(default: Any = ...) -> Any:
    return Field(default, min_length=1, max_length=64, pattern=UPSTREAM_ID_PATTERN)


def _not_blank(value: str | None) -> str | None:
    if value is not None and not value.strip():
        raise ValueError("must not be blank")
    return value


def _at_least_one(model: BaseModel) -> None:
    if not model.model_dump(exclude_none=True):
        raise ValueError("give at least one field to change")


class ApiSchema(BaseModel):
    """Where Resemble calls on the caller's behalf (checked by the SSRF guard before it is sent)."""

    model_config = ConfigDict(extra="allow")

    url: str = Field(min_length=1, max_length=2048)
    method: HttpMethod = "POST"
    request_headers: dict[str, str] | None = None
    request_body: dict[str, Any] | None = None


class Assignment(BaseModel):
    model_config = ConfigDict(extra="allow")

    source: Literal["response", "argument"]
    attribute_name: str = Field(min_length=1, max_length=255)
    dynamic_variable: str = Field(min_length=1, max_length=255)


class WebhookConfig(BaseModel):
    model_config = ConfigDict(extra="allow")

    api_schema: ApiSchema
    assignments: list[Assignment] | None = None
    response_timeout_secs: int | None = Field(None, ge=1, le=60)


class WebhookToolConfig(WebhookConfig):
    parameters: dict[str, Any] | None = None


class ClientToolConfig(BaseModel):
    model_config = ConfigDict(extra="allow")

    parameters: dict[str, Any] | None = None
    assignments: list[Assignment] | None = None
    return_message: str | None = Field(None, max_length=2000)
    disable_interruptions: bool | None = None
    force_pre_tool_speech: bool | None = None


class AgentWebhookSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    webhook_type: Literal["pre_call", "post_call"]
    webhook_config: WebhookConfig


class Asr(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1, max_length=100)
    provider: str | None = Field(None, max_length=100)
    user_input_audio_format: AudioFormat | None = None
    keywords: list[str] | None = None


class Turn(BaseModel):
    model_config = ConfigDict(extra="allow")

    turn_timeout: float | None = Field(None, ge=0, le=3600)
    silence_end_call_timeout: float | None = Field(None, ge=-1, le=3600)
    mode: str | None = Field(None, max_length=32)


class Llm(BaseModel):
    model_config = ConfigDict(extra="allow")

    prompt: str | None = Field(None, max_length=50_000)
    provider: str | None = Field(None, max_length=100)
    model: str | None = Field(None, max_length=100)
    reasoning_effort: str | None = Field(None, max_length=32)
    temperature: float | None = Field(None, ge=0, le=2)
    timezone: str | None = Field(None, max_length=64)
    built_in_tools: dict[str, Any] | None = None


class SystemToolSetting(BaseModel):
    model_config = ConfigDict(extra="forbid")

    active: bool | None = None
    disable_interruptions: bool | None = None
    force_pre_tool_speech: bool | None = None


class AgentUpdateFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=255)
    voice_uuid: str | None = upstream_id(None)
    phone_number_id: int | None = Field(None, ge=1)
    languages: list[str] | None = Field(None, max_length=20)
    dynamic_variables: dict[str, str] | None = None
    asr: Asr | None = None
    turn: Turn | None = None
    llm: Llm | None = None
    search_mode: Literal["speed", "accuracy"] | None = None
    max_chunks_per_query: int | None = Field(None, ge=1, le=100)
    webhooks: list[AgentWebhookSpec] | None = Field(None, max_length=2)
    system_tools: dict[Literal["end_call", "transfer_to_number", "voicemail_detection"], SystemToolSetting] | None = (
        None
    )

    _name_not_blank = field_validator("name")(_not_blank)

    @model_validator(mode="after")
    def _something_to_change(self) -> AgentUpdateFields:
        _at_least_one(self)
        return self


class AgentFields(AgentUpdateFields):
    name: str = Field(min_length=1, max_length=255)
    voice_uuid: str = upstream_id()


class AgentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fields: AgentFields


class AgentUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fields: AgentUpdateFields


class ToolUpdateFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=64)
    description: str | None = Field(None, min_length=1, max_length=1000)
    tool_config: dict[str, Any] | None = None
    active: bool | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> ToolUpdateFields:
        _at_least_one(self)
        return self


class ToolFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent_uuid: str = upstream_id()
    name: str = Field(min_length=1, max_length=64)
    description: str = Field(min_length=1, max_length=1000)
    tool_type: Literal["webhook", "client"]
    tool_config: WebhookToolConfig | ClientToolConfig
    active: bool | None = None

    _name_not_blank = field_validator("name", "description")(_not_blank)

    @model_validator(mode="after")
    def _config_matches_type(self) -> ToolFields:
        if self.tool_type == "webhook" and not isinstance(self.tool_config, WebhookToolConfig):
            raise ValueError("a webhook tool needs tool_config.api_schema with a url")
        return self


class ToolCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fields: ToolFields


class ToolUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fields: ToolUpdateFields


class WebhookFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agent_uuid: str = upstream_id()
    webhook_type: Literal["pre_call", "post_call"]
    webhook_config: WebhookConfig


class WebhookUpdateFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    webhook_type: Literal["pre_call", "post_call"] | None = None
    webhook_config: WebhookConfig | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> WebhookUpdateFields:
        _at_least_one(self)
        return self


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fields: WebhookFields


class WebhookUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fields: WebhookUpdateFields


class KnowledgeFields(BaseModel):
    """A `url` source is fetched by Resemble, a `text` source is sent as is. Documents need a multipart upload,
    which the SDK's JSON envelope cannot carry."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=50)
    description: str = Field(min_length=1, max_length=200)
    source_type: Literal["url", "text"]
    url: str | None = Field(None, min_length=1, max_length=2048)
    raw_text: str | None = Field(None, min_length=1, max_length=10_000)

    _not_blank = field_validator("title", "description", "raw_text")(_not_blank)

    @model_validator(mode="after")
    def _source_matches_type(self) -> KnowledgeFields:
        if self.source_type == "url" and (self.url is None or self.raw_text is not None):
            raise ValueError("a url source needs url (and no raw_text)")
        if self.source_type == "text" and (self.raw_text is None or self.url is not None):
            raise ValueError("a text source needs raw_text (and no url)")
        return self


class KnowledgeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fields: KnowledgeFields


class KnowledgeUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fields: dict[str, Any]


# Responses: Resemble's items, with the fields every answer carries typed and the rest passed through.


class AgentCore(BaseModel):
    model_config = ConfigDict(extra="allow")

    uuid: str
    name: str | None = None
    status: str | None = None
    created_at: str | None = None
    updated_at: str | None = None


class AgentRead(BaseModel):
    model_config = ConfigDict(extra="allow")

    agent: AgentCore
    tts: dict[str, Any] | None = None
    tools_count: int | None = None
    webhooks_count: int | None = None


class ToolRead(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str | int
    agent_uuid: str | None = Field(None, description="The agent this tool belongs to")
    name: str | None = None
    description: str | None = None
    tool_type: str | None = None
    tool_config: dict[str, Any] | None = None
    active: bool | None = None


class WebhookRead(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str | int
    agent_uuid: str | None = Field(None, description="The agent this webhook belongs to")
    webhook_type: str | None = None
    webhook_config: dict[str, Any] | None = None


class KnowledgeRead(BaseModel):
    model_config = ConfigDict(extra="allow")

    uuid: str
    title: str | None = None
    description: str | None = None
    source_type: str | None = None
    status: str | None = None


class Capabilities(BaseModel):
    model_config = ConfigDict(extra="allow")

    success: bool
    asr_capabilities: list[dict[str, Any]] = []
    llm_capabilities: list[dict[str, Any]] = []


class SystemTools(BaseModel):
    model_config = ConfigDict(extra="allow")

    success: bool
    items: list[dict[str, Any]]
