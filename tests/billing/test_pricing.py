from __future__ import annotations

from decimal import Decimal

import pytest

from voicegate.billing.pricing import RATE_CARD, RateCard
from voicegate.kit.money import from_micros, quantize_usd, to_micros


@pytest.mark.parametrize(
    ("key", "unit", "usd", "verified"),
    [
        ("tts", "audio_seconds", "0.0005", True),
        ("stt", "audio_seconds", "0.001", True),
        ("detect_audio", "audio_seconds", "0.001", True),
        ("detect_video", "video_seconds", "0.07", True),
        ("watermark_apply", "audio_seconds", "0.0005", True),
        ("watermark_detect", "audio_seconds", "0.0002", True),
        ("enhance", "audio_seconds", "0.0005", False),
    ],
)
def test_rate_card_rows(key: str, unit: str, usd: str, verified: bool):
    rate = RATE_CARD[key]
    assert (rate.unit, rate.usd_per_unit, rate.verified) == (unit, Decimal(usd), verified)


@pytest.mark.parametrize(
    ("quantity", "markup", "provider_cost", "charged"),
    [
        ("10", "20", "0.005000", "0.006000"),
        ("1.234567", "20", "0.000617", "0.000740"),
        ("3.000001", "0", "0.001500", "0.001500"),
        ("0.001", "20", "0.000001", "0.000001"),
        ("7", "33.3", "0.003500", "0.004666"),
    ],
)
def test_quote_rounds_once_each_half_up(quantity: str, markup: str, provider_cost: str, charged: str):
    quote = RateCard(Decimal(markup)).quote("tts", Decimal(quantity))
    assert (quote.provider_cost, quote.charged) == (Decimal(provider_cost), Decimal(charged))
    assert quote.charged == quantize_usd(quote.provider_cost * (1 + Decimal(markup) / 100))


def test_overrides_replace_a_rate_and_mark_it_configured():
    card = RateCard(Decimal(20), {"enhance": Decimal("0.002")})
    assert card.rates["enhance"].usd_per_unit == Decimal("0.002")
    assert card.rates["enhance"].source == "configuration"


@pytest.mark.parametrize("overrides", [{"nope": Decimal(1)}, {"tts": Decimal(-1)}])
def test_bad_overrides_fail_fast(overrides: dict[str, Decimal]):
    with pytest.raises(ValueError, match="RESEMBLE_RATES"):
        RateCard(Decimal(20), overrides)


def test_micros_round_trip():
    assert to_micros(Decimal("1.0000005")) == 1_000_001
    assert from_micros(1_000_001) == Decimal("1.000001")
