"""`GET /v1/models` and `/v1/models/{id}`: OpenAI's list shape with our prices, errors in OpenAI's shape."""

from __future__ import annotations

from decimal import Decimal

import httpx
from fastapi import FastAPI

from tests.factories import Customer


async def test_list_in_openai_shape_with_prices(app: FastAPI, client: httpx.AsyncClient, customer: Customer):
    response = await client.get("/v1/models", headers=customer.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["object"] == "list"
    assert [m["id"] for m in body["data"]] == [
        "resemble/chatterbox",
        "resemble/chatterbox-turbo",
        "resemble/speech-to-text",
    ]
    card = app.state.resources.rate_card
    for model in body["data"]:
        assert model["object"] == "model"
        assert model["owned_by"] == "resemble"
        assert isinstance(model["created"], int)
        rate = card.rates[model["capability"]]
        assert Decimal(model["pricing"]["price"]) == rate.usd_per_unit * (1 + card.markup_pct / 100)


async def test_get_by_id_or_alias(client: httpx.AsyncClient, customer: Customer):
    by_id = await client.get("/v1/models/resemble/speech-to-text", headers=customer.headers)
    by_alias = await client.get("/v1/models/whisper-1", headers=customer.headers)
    assert by_id.status_code == by_alias.status_code == 200
    assert by_id.json() == by_alias.json()
    assert "gpt-4o-transcribe" in by_id.json()["aliases"]


async def test_errors_in_openai_shape(client: httpx.AsyncClient, customer: Customer):
    missing = await client.get("/v1/models/dall-e-3", headers=customer.headers)
    assert missing.status_code == 404
    error = missing.json()["error"]
    assert error["type"] == "not_found_error"
    assert error["code"] == "model_not_found"
    assert "resemble/chatterbox" in error["message"]
    anonymous = await client.get("/v1/models")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["type"] == "authentication_error"
