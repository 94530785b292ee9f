"""The model catalogue: every model name a client may send, what it means upstream, and how it is priced.

One table. The hub's generic routes (`model="resemble/..."`) and the OpenAI-compatible surface (`model="tts-1"`)
resolve names here, and `GET /models` lists it with the rate card's prices. `resemble/default` names the default
model of each capability. Resemble picks the synthesis model from the voice unless `model` is sent
(`chatterbox-turbo` is the only value its documents name), so the default model sends none.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Final, Literal

from voicegate.billing.pricing import RateCard
from voicegate.errors import BadRequest
from voicegate.kit.money import quantize_usd

Capability = Literal["tts", "stt"]
PROVIDER: Final = "resemble"
DEFAULT_NAME: Final = "resemble/default"


@dataclass(frozen=True)
class Model:
    id: str
    capability: Capability
    rate_key: str
    """The rate-card row the model is billed by."""
    upstream_model: str | None
    """Resemble's `model` field; None lets Resemble choose from the voice."""
    description: str
    aliases: tuple[str, ...] = ()
    """Other names accepted for it (OpenAI's model names)."""
    streaming: bool = False

    @property
    def name(self) -> str:
        return self.id.split("/", 1)[1]


MODELS: Final[tuple[Model, ...]] = (
    Model(
        "resemble/chatterbox",
        "tts",
        "tts",
        None,
        "Chatterbox text-to-speech; Resemble picks Chatterbox or Chatterbox Multilingual from the voice",
        aliases=("tts-1-hd", "gpt-4o-mini-tts"),
        streaming=True,
    ),
    Model(
        "resemble/chatterbox-turbo",
        "tts",
        "tts",
        "chatterbox-turbo",
        "Chatterbox-Turbo: lowest latency, paralinguistic tags; stock library and rapid English voices",
        aliases=("tts-1",),
        streaming=True,
    ),
    Model(
        "resemble/speech-to-text",
        "stt",
        "stt",
        None,
        "Resemble speech-to-text with word timings and speaker ids",
        aliases=("whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe"),
    ),
)
DEFAULTS: Final = MappingProxyType({"tts": "resemble/chatterbox", "stt": "resemble/speech-to-text"})
_BY_ID: Final = MappingProxyType({model.id: model for model in MODELS})


class UnknownModel(BadRequest):
    """A model name this gateway does not offer for the capability; the detail lists what it does offer."""

    def __init__(self, name: str, capability: Capability) -> None:
        offered = ", ".join([DEFAULT_NAME, *(m.id for m in models_for(capability))])
        provider = name.split("/", 1)[0] if "/" in name else None
        if provider and provider != PROVIDER:
            detail = f"Provider {provider!r} is not available here; {capability} models available: {offered}"
        else:
            detail = f"Unknown {capability} model {name!r}; available: {offered}"
        super().__init__(detail, extra={"code": "model_not_found", "param": "model"})


def models_for(capability: Capability) -> tuple[Model, ...]:
    return tuple(model for model in MODELS if model.capability == capability)


def resolve(capability: Capability, name: str | None) -> Model:
    """The model `name` means for `capability`: a full id, `resemble/default` (or no name), a bare Resemble
    model name, or an alias. Anything else is `UnknownModel` (400)."""
    wanted = (name or DEFAULT_NAME).strip()
    if wanted.lower() in (DEFAULT_NAME, "default"):
        return _BY_ID[DEFAULTS[capability]]
    candidates = models_for(capability)
    lowered = wanted.lower()
    for model in candidates:
        if lowered in (model.id, model.name, *model.aliases):
            return model
    raise UnknownModel(wanted, capability)


def price_of(rate_card: RateCard, model: Model) -> dict[str, Any]:
    """One unit of `model` at today's rate card: Resemble's price, our markup and what the caller pays, as exact
    decimal strings (the one rounding rule of `kit.money`)."""
    rate = rate_card.rates[model.rate_key]
    charged = rate.usd_per_unit * (1 + rate_card.markup_pct / 100)
    return {
        "unit": rate.unit,
        "provider_price": str(rate.usd_per_unit.normalize()),
        "markup_pct": str(Decimal(rate_card.markup_pct).quantize(Decimal("0.01"))),
        "price": str(_exact(charged)),
        "currency": "USD",
        "verified": rate.verified,
    }


def _exact(value: Decimal) -> Decimal:
    """Per-unit prices are shown unrounded past the micro-dollar so a $0.0005 rate keeps its digits; what is
    charged is rounded by `quantize_usd` on the quantity, never per unit."""
    rounded = quantize_usd(value)
    return rounded if rounded == value else value.normalize()
