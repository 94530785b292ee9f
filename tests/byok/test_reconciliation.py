"""Reconciliation compares the shared account's wallet with the usage our key made: BYOK rows are left out, as
Resemble charged the users' own accounts for them."""

from __future__ import annotations

from decimal import Decimal

import httpx

from tests.factories import Customer
from tests.reconciliation.conftest import report

from .conftest import synthesize


async def test_byok_usage_is_not_compared_with_the_shared_wallet(
    client: httpx.AsyncClient, customer: Customer, byok_customer: Customer
):
    shared = await synthesize(client, customer, "Billed to the gateway's account.")
    own = await synthesize(client, byok_customer, "Billed to my own account, which is much longer than the other.")
    assert shared.status_code == own.status_code == 200

    comparison = (await report(client))["comparison"]

    cost = Decimal(shared.json()["billing"]["provider_cost"])
    assert comparison["outcome"] == "ok"
    assert comparison["ours_usd"] == comparison["theirs"]["total_usd"] == str(cost)
    assert (comparison["usage_rows"], comparison["theirs"]["deductions"]) == (1, 1)
