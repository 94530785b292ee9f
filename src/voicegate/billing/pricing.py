"""The rate card: what Resemble charges us per unit, and what we charge on top. Pure functions, no I/O.

`charged = provider_cost x (1 + markup_pct / 100)`, both quantized by `kit.money.quantize_usd` (the one rounding
rule): `provider_cost = round(quantity x unit_price)`, then `charged = round(provider_cost x (1 + markup/100))`, so
anyone can recompute `charged` from the two figures shown in a response.

`ByokRateCard` prices calls made with the user's own Resemble key: no provider cost and no markup, only the
gateway's platform fee (a fee per call plus an optional fee per unit). Services never branch on BYOK: they are
handed one card or the other, and the quote says which (`Quote.byok`) so the usage row records it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Final

from voicegate.kit.money import quantize_usd


@dataclass(frozen=True)
class Rate:
    key: str
    unit: str
    usd_per_unit: Decimal
    verified: bool
    source: str


def _rate(key: str, unit: str, usd: str, source: str | None = None) -> Rate:
    return Rate(key, unit, Decimal(usd), verified=source is not None, source=source or "unverified default")


_PUBLISHED = "best published figure (Resemble pricing research)"

# One row per billable operation. `verified=False` rows are our own defaults where no public price exists;
# every row can be overridden with RESEMBLE_RATES='{"<key>": "<usd per unit>"}'.
RATE_CARD: Mapping[str, Rate] = MappingProxyType(
    {
        rate.key: rate
        for rate in (
            _rate("tts", "audio_seconds", "0.0005", _PUBLISHED),
            _rate("stt", "audio_seconds", "0.001", _PUBLISHED),
            _rate("detect_audio", "audio_seconds", "0.001", _PUBLISHED),
            _rate("detect_video", "video_seconds", "0.07", _PUBLISHED),
            _rate("detect_image", "images_processed", "0.01"),
            _rate("watermark_apply", "audio_seconds", "0.0005", _PUBLISHED),
            _rate("watermark_detect", "audio_seconds", "0.0002", _PUBLISHED),
            _rate("enhance", "audio_seconds", "0.0005"),
            _rate("edit", "audio_seconds", "0.0005"),
            _rate("intelligence", "requests", "0.01"),
            _rate("tracing", "audio_seconds", "0.001"),
            _rate("identity_search", "searches", "0.005"),
            _rate("identity_enroll", "enrollments", "0.01"),
            _rate("voice_clone_rapid", "voice_months", "2.00", _PUBLISHED),
            _rate("voice_clone_professional", "voice_months", "5.00", _PUBLISHED),
            _rate("voice_design", "requests", "0.05"),
        )
    }
)


@dataclass(frozen=True)
class Quote:
    rate_key: str
    unit: str
    quantity: Decimal
    unit_price: Decimal
    provider_cost: Decimal
    markup_pct: Decimal
    charged: Decimal
    currency: str = "USD"
    byok: bool = False
    """Priced by `ByokRateCard`: the user's own Resemble account paid the provider."""


class RateCard:
    def __init__(self, markup_pct: Decimal, overrides: Mapping[str, Decimal] | None = None) -> None:
        if markup_pct < 0:
            raise ValueError("RESEMBLE_MARKUP_PCT must not be negative")
        rates = dict(RATE_CARD)
        for key, value in (overrides or {}).items():
            if key not in rates:
                raise ValueError(f"RESEMBLE_RATES names an unknown rate {key!r}; known: {sorted(rates)}")
            try:
                usd = Decimal(str(value))
            except InvalidOperation as exc:
                raise ValueError(f"RESEMBLE_RATES[{key!r}] is not a number") from exc
            if usd < 0:
                raise ValueError(f"RESEMBLE_RATES[{key!r}] must not be negative")
            rates[key] = replace(rates[key], usd_per_unit=usd, verified=True, source="configuration")
        # Shared by every request of the process: read-only, like everything kept across requests.
        self.markup_pct: Final = Decimal(markup_pct)
        self.rates: Final[Mapping[str, Rate]] = MappingProxyType(rates)

    def quote(self, rate_key: str, quantity: Decimal) -> Quote:
        rate = self.rates[rate_key]
        provider_cost = quantize_usd(quantity * rate.usd_per_unit)
        charged = quantize_usd(provider_cost * (1 + self.markup_pct / 100))
        return Quote(
            rate_key=rate_key,
            unit=rate.unit,
            quantity=quantity,
            unit_price=rate.usd_per_unit,
            provider_cost=provider_cost,
            markup_pct=self.markup_pct,
            charged=charged,
        )


class ByokRateCard(RateCard):
    """`charged = fee_per_call + quantity x fee_per_unit[rate_key]`, quantized once; provider cost and markup 0.

    The units are the shared card's (a quote still says how many audio seconds it covers); `unit_price` is the
    per-unit platform fee.
    """

    def __init__(self, fee_per_call: Decimal, fee_per_unit: Mapping[str, Decimal] | None = None) -> None:
        super().__init__(Decimal(0))
        unknown = sorted(set(fee_per_unit or {}) - set(self.rates))
        if unknown:
            raise ValueError(f"BYOK_PLATFORM_FEE_PER_UNIT names unknown rates {unknown}; known: {sorted(self.rates)}")
        if fee_per_call < 0 or any(Decimal(fee) < 0 for fee in (fee_per_unit or {}).values()):
            raise ValueError("BYOK platform fees must not be negative")
        self.fee_per_call: Final = Decimal(fee_per_call)
        self.fee_per_unit: Final[Mapping[str, Decimal]] = MappingProxyType(
            {key: Decimal(fee) for key, fee in (fee_per_unit or {}).items()}
        )

    def quote(self, rate_key: str, quantity: Decimal) -> Quote:
        rate = self.rates[rate_key]
        unit_fee = self.fee_per_unit.get(rate_key, Decimal(0))
        return Quote(
            rate_key=rate_key,
            unit=rate.unit,
            quantity=quantity,
            unit_price=unit_fee,
            provider_cost=Decimal(0),
            markup_pct=Decimal(0),
            charged=quantize_usd(self.fee_per_call + quantity * unit_fee),
            byok=True,
        )
