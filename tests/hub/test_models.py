"""`GET /api/v1/models[/{provider}[/{model}]]`: the catalogue with the rate card's prices and markup."""

from __future__ import annotations

from decimal import Decimal

import httpx
from fastapi import FastAPI

from tests.factories import Customer

IDS = ["resemble/chatterbox", "resemble/chatterbox-turbo", "resemble/speech-to-text"]


async def test_list_has_rate_card_prices(app: FastAPI, client: httpx.AsyncClient, customer: Customer):
    response = await client.get("/api/v1/models", headers=customer.headers)
    assert response.status_code == 200, response.text
    [provider] = response.json()
    assert provider["id"] == "resemble"
    assert provider["name"]
    assert provider["defaults"] == {"tts": "resemble/chatterbox", "stt": "resemble/speech-to-text"}
    assert [m["id"] for m in provider["models"]] == IDS
    card = app.state.resources.rate_card
    for model in provider["models"]:
        rate = card.rates[model["capability"]]
        pricing = model["pricing"]
        assert Decimal(pricing["provider_price"]) == rate.usd_per_unit
        assert Decimal(pricing["markup_pct"]) == card.markup_pct == Decimal("20")
        assert Decimal(pricing["price"]) == rate.usd_per_unit * Decimal("1.2")
        assert pricing["unit"] == "audio_seconds"
        assert pricing["currency"] == "USD"
    assert [m["default"] for m in provider["models"]] == [True, False, True]
    assert provider["models"][0]["pricing"]["provider_price"] == "0.0005"  # exact decimal strings
    assert provider["models"][0]["pricing"]["price"] == "0.000600"


async def test_provider_and_model(client: httpx.AsyncClient, customer: Customer):
    provider = await client.get("/api/v1/models/resemble", headers=customer.headers)
    assert provider.status_code == 200
    assert [m["id"] for m in provider.json()["models"]] == IDS
    model = await client.get("/api/v1/models/resemble/chatterbox-turbo", headers=customer.headers)
    assert model.status_code == 200
    assert model.json()["aliases"] == ["tts-1"]
    assert model.json()["type"] == "text-to-speech"


async def test_unknown_is_404(client: httpx.AsyncClient, customer: Customer):
    for path, word in [
        ("/api/v1/models/openai", "Provider"),
        ("/api/v1/models/openai/tts-1", "Provider"),
        ("/api/v1/models/resemble/tts-9", "Model"),
        ("/api/v1/models/resemble/default", "resemble/chatterbox"),
    ]:
        response = await client.get(path, headers=customer.headers)
        assert response.status_code == 404, path
        assert word in response.json()["detail"]


async def test_needs_a_user(client: httpx.AsyncClient):
    assert (await client.get("/api/v1/models")).status_code == 401
