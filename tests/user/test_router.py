from __future__ import annotations

from decimal import Decimal

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import create_customer

USAGE = "/api/v1/user/usage"


class TestUsage:
    async def test_money_and_quantities_are_decimal_strings(self, client: httpx.AsyncClient, session: AsyncSession):
        customer = await create_customer(session, credits="10.00")
        synthesis = await client.post(
            "/api/v1/resemble/tts/synthesize",
            json={"voice_uuid": "55592656", "text": "Count me exactly."},
            headers=customer.headers,
        )
        assert synthesis.status_code == 200
        billing = synthesis.json()["billing"]

        usage = (await client.get(USAGE, headers=customer.headers)).json()
        # remaining_credits was a float: a balance must never pass through binary floating point
        assert (
            usage["remaining_credits"]
            == usage["credits_usd"]
            == str(Decimal("10.000000") - Decimal(billing["charged"]))
        )
        assert usage["total_spent_usd"] == billing["charged"]
        (tts,) = usage["by_capability"]
        assert (tts["capability"], tts["requests"]) == ("tts", 1)
        assert tts["quantity"] == billing["quantity"]
        assert tts["charged_usd"] == billing["charged"]

    async def test_a_new_user_has_spent_nothing(self, client: httpx.AsyncClient, session: AsyncSession):
        customer = await create_customer(session, credits="0")
        usage = (await client.get(USAGE, headers=customer.headers)).json()
        assert (usage["remaining_credits"], usage["total_spent_usd"], usage["by_capability"]) == (
            "0.000000",
            "0.000000",
            [],
        )
