from __future__ import annotations

import json
import re
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.console.helpers import sign_in, synthesize
from tests.factories import create_customer
from voicegate.db.models import LedgerEntry
from voicegate.kit.time import utc_now

CHART = re.compile(r'<script type="application/json" id="spend-chart">(.*?)</script>', re.S)


def text_of(page: httpx.Response, name: str) -> str:
    found = re.search(rf'data-testid="{re.escape(name)}">([^<]*)<', page.text)
    assert found, name
    return found.group(1)


async def spent_per_ledger(session: AsyncSession, user_id: str) -> Decimal:
    """What the ledger took from the user: every movement but the grants, with its sign turned."""
    moved = await session.scalar(
        select(func.sum(LedgerEntry.amount_usd)).where(LedgerEntry.user_id == user_id, LedgerEntry.kind != "grant")
    )
    return -(moved or Decimal(0))


class TestOverview:
    async def test_chart_and_totals_equal_the_ledger(self, client: httpx.AsyncClient, session: AsyncSession):
        customer = await create_customer(session, credits="10.00")
        charged = [
            Decimal((await synthesize(client, customer.headers, text)).json()["billing"]["charged"])
            for text in ("One billed call.", "And a second, somewhat longer billed call.")
        ]
        ledger_total = await spent_per_ledger(session, customer.user.id)
        assert ledger_total == sum(charged)

        await sign_in(client, customer.api_key)
        page = await client.get("/console")
        assert page.status_code == 200
        assert text_of(page, "spend-total") == f"${ledger_total:,}"
        assert text_of(page, "spend-total-tts") == f"${ledger_total:,}"
        assert text_of(page, "balance") == f"${Decimal('10.000000') - ledger_total:,}"
        assert text_of(page, "request-count") == "2"
        assert 'data-chart="spend-chart"' in page.text

        chart = json.loads(CHART.search(page.text).group(1))  # type: ignore[union-attr]
        assert len(chart["labels"]) == 7
        assert chart["labels"][-1] == utc_now().date().isoformat()
        (tts,) = chart["datasets"]
        assert tts["label"] == "tts"
        assert all(isinstance(amount, str) for amount in tts["data"])  # decimal strings, never floats
        assert sum(Decimal(amount) for amount in tts["data"]) == ledger_total

        month = await client.get("/console?days=30")
        assert len(json.loads(CHART.search(month.text).group(1))["labels"]) == 30  # type: ignore[union-attr]
        assert text_of(month, "spend-total") == f"${ledger_total:,}"

    async def test_another_users_spend_never_shows(self, client: httpx.AsyncClient, session: AsyncSession):
        spender = await create_customer(session)
        await synthesize(client, spender.headers)
        other = await create_customer(session)
        await sign_in(client, other.api_key)
        page = await client.get("/console")
        assert text_of(page, "spend-total") == "$0.000000"
        assert spender.user.email not in page.text
        assert json.loads(CHART.search(page.text).group(1))["datasets"] == []  # type: ignore[union-attr]

    @pytest.mark.parametrize("query", ["days=abc", "days=-1", "days=8", "days=", "days=<script>"])
    async def test_junk_query_is_a_400_page(self, client: httpx.AsyncClient, session: AsyncSession, query: str):
        customer = await create_customer(session)
        await sign_in(client, customer.api_key)
        answer = await client.get(f"/console?{query}")
        assert answer.status_code == 400
        assert answer.headers["content-type"].startswith("text/html")
        assert "<script>" not in answer.text


class TestSpendApi:
    async def test_spend_per_day_equals_the_ledger(self, client: httpx.AsyncClient, session: AsyncSession):
        customer = await create_customer(session)
        await synthesize(client, customer.headers)
        await synthesize(client, customer.headers, "Another one.")
        spend = (await client.get("/api/v1/user/spend?days=30", headers=customer.headers)).json()
        total = await spent_per_ledger(session, customer.user.id)
        assert spend["total_usd"] == str(total)
        assert spend["totals"] == {"tts": str(total)}
        assert len(spend["by_day"]) == 30
        assert spend["by_day"][-1] == {
            "date": utc_now().date().isoformat(),
            "by_capability": {"tts": str(total)},
            "total_usd": str(total),
        }
        assert sum(Decimal(day["total_usd"]) for day in spend["by_day"]) == total

        other = await create_customer(session)
        empty = (await client.get("/api/v1/user/spend", headers=other.headers)).json()
        assert (empty["days"], empty["total_usd"], empty["capabilities"]) == (7, "0.000000", [])

    @pytest.mark.parametrize("days", ["0", "91", "abc"])
    async def test_a_bad_window_is_422(self, client: httpx.AsyncClient, session: AsyncSession, days: str):
        customer = await create_customer(session)
        answer = await client.get(f"/api/v1/user/spend?days={days}", headers=customer.headers)
        assert answer.status_code == 422
        assert "detail" in answer.json()
