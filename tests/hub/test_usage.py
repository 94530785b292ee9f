"""`GET /api/v1/user/usage` after hub calls: what `indoxhub.Client.get_usage()` returns, per capability."""

from __future__ import annotations

from decimal import Decimal

import httpx

from tests.factories import Customer


async def test_usage_counts_hub_calls(client: httpx.AsyncClient, customer: Customer, voice_uuid: str):
    tts = await client.post(
        "/api/v1/audio/tts/generations", json={"input": "Counted.", "voice": voice_uuid}, headers=customer.headers
    )
    assert tts.status_code == 200, tts.text
    usage = await client.get("/api/v1/user/usage", headers={**customer.headers, "Content-Type": "application/json"})
    assert usage.status_code == 200
    body = usage.json()
    charged = Decimal(tts.json()["billing"]["charged"])
    assert body["remaining_credits"] == body["credits_usd"] == str(Decimal("10") - charged)
    assert body["total_spent_usd"] == str(charged)
    assert body["total_requests"] == 1
    [row] = body["by_capability"]
    assert row == {
        "capability": "tts",
        "unit": "audio_seconds",
        "requests": 1,
        "quantity": tts.json()["billing"]["quantity"],
        "charged_usd": str(charged),
    }
