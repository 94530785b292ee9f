"""`GET /v1/models` and `GET /v1/models/{id}` in OpenAI's list shape, with our price per unit beside OpenAI's
fields. An id is a catalogue id (`resemble/chatterbox`) or one of its OpenAI aliases (`tts-1`, `whisper-1`)."""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from voicegate.billing.pricing import RateCard
from voicegate.deps import RateCardDep
from voicegate.errors import NotFound, described_openai
from voicegate.hub import catalogue
from voicegate.hub.schemas import PricingRead

models_router = APIRouter(prefix="/v1", tags=["openai-compatible"])

ERRORS = described_openai({401: "Missing or invalid API key", 404: "No such model"})
# Resemble publishes no release dates for its models; OpenAI's `created` is required, and 0 says "unknown".
CREATED_UNKNOWN: Final = 0


class OpenAIModelRead(BaseModel):
    id: str
    object: Literal["model"]
    created: int
    owned_by: str
    capability: Literal["tts", "stt"]
    aliases: list[str] = Field(description="OpenAI model names that select this model")
    pricing: PricingRead


class OpenAIModelList(BaseModel):
    object: Literal["list"]
    data: list[OpenAIModelRead]


def _view(rate_card: RateCard, model: catalogue.Model) -> dict[str, Any]:
    return {
        "id": model.id,
        "object": "model",
        "created": CREATED_UNKNOWN,
        "owned_by": catalogue.PROVIDER,
        "capability": model.capability,
        "aliases": list(model.aliases),
        "pricing": catalogue.price_of(rate_card, model),
    }


@models_router.get("/models", response_model=OpenAIModelList, responses=ERRORS)
async def list_models(rate_card: RateCardDep) -> dict[str, Any]:
    return {"object": "list", "data": [_view(rate_card, model) for model in catalogue.MODELS]}


@models_router.get("/models/{model_id:path}", response_model=OpenAIModelRead, responses=ERRORS)
async def get_model(
    model_id: Annotated[str, Path(min_length=1, max_length=100)], rate_card: RateCardDep
) -> dict[str, Any]:
    wanted = model_id.strip().lower()
    for model in catalogue.MODELS:
        if wanted in (model.id, *model.aliases):
            return _view(rate_card, model)
    offered = ", ".join(model.id for model in catalogue.MODELS)
    message = f"The model {model_id!r} does not exist; models available: {offered}"
    raise NotFound(message, extra={"code": "model_not_found"})
