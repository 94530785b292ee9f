"""Money is `Decimal` USD in code and integer micro-USD in the database.

The one rounding rule: every amount is quantized to the micro-dollar (6 decimal places) with ROUND_HALF_UP, by
`quantize_usd`, at the moment it is computed. Nothing else rounds money.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

MICRO = Decimal("0.000001")
MICROS_PER_USD = 1_000_000


def quantize_usd(amount: Decimal) -> Decimal:
    return amount.quantize(MICRO, rounding=ROUND_HALF_UP)


def to_micros(amount: Decimal) -> int:
    return int(quantize_usd(amount) * MICROS_PER_USD)


def from_micros(micros: int) -> Decimal:
    return quantize_usd(Decimal(micros) / MICROS_PER_USD)
