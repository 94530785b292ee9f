"""Response shapes shared by every billed Resemble capability."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Billing(BaseModel):
    """What a call cost. Money and the billed quantity are exact decimal strings, never floats."""

    unit: str = Field(description="What `quantity` counts, e.g. audio_seconds or requests")
    quantity: str = Field(description="Billed units, decimal string")
    unit_price: str = Field(description="Resemble's price per unit in USD, decimal string")
    provider_cost: str = Field(description="quantity x unit_price, USD, decimal string")
    markup_pct: str
    charged: str = Field(description="What was taken from your credit, USD, decimal string")
    currency: str
