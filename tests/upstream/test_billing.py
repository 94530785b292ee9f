"""The wallet ledger on the wire: paging newest first until the window's start, and refusing a shape it cannot read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from voicegate.upstream import ResembleClient
from voicegate.upstream.billing import PER_PAGE, LedgerUnreadable, transactions_since

from .fakes import API_KEY, BASE_URL, SYNTH_URL, FakeResemble, json_response

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)


def row(ident: int, hours_ago: float, cents: float = -12.5, kind: str = "usage_deduction") -> dict[str, Any]:
    created = (NOW - timedelta(hours=hours_ago)).isoformat().replace("+00:00", "Z")
    return {
        "id": ident,
        "transaction_type": kind,
        "amount_cents": cents,
        "balance_after_cents": 0,
        "created_at": created,
    }


def page(rows: list[dict[str, Any]], number: int, total_pages: int) -> httpx.Response:
    pagination = {"page": number, "per_page": PER_PAGE, "total_count": 0, "total_pages": total_pages}
    return json_response(200, {"transactions": rows, "pagination": pagination})


class TestPaging:
    async def test_reads_pages_until_one_reaches_past_the_window(self, client: ResembleClient, fake: FakeResemble):
        fake.then(page([row(3, 1), row(2, 5)], 1, 9), page([row(1, 20), row(0, 30)], 2, 9))
        found = await transactions_since(client, NOW - timedelta(hours=24))
        assert [t.id for t in found] == [3, 2, 1]
        assert fake.calls == 2  # page 3 is older than the window: never asked for
        assert [r.url.params["page"] for r in fake.requests] == ["1", "2"]
        assert fake.requests[0].url.params["per_page"] == str(PER_PAGE)
        assert fake.requests[0].headers["Authorization"] == f"Bearer {API_KEY}"

    async def test_stops_at_the_last_page(self, client: ResembleClient, fake: FakeResemble):
        fake.then(page([row(2, 1)], 1, 2), page([row(1, 2)], 2, 2))
        assert len(await transactions_since(client, NOW - timedelta(days=7))) == 2
        assert fake.calls == 2

    async def test_amounts_stay_exact(self, client: ResembleClient, fake: FakeResemble):
        fake.then(page([row(1, 1, cents=-0.0525)], 1, 1))
        (found,) = await transactions_since(client, NOW - timedelta(hours=24))
        assert found.amount_cents == Decimal("-0.0525")


class TestBillingServer:
    async def test_the_billing_base_url_is_configurable_and_authorised(self, fake: FakeResemble):
        fake.then(page([], 1, 1))
        async with httpx.AsyncClient(transport=httpx.MockTransport(fake)) as http:
            client = ResembleClient(
                http,
                api_key=API_KEY,
                base_url=BASE_URL,
                synth_url=SYNTH_URL,
                billing_url="https://billing.example.test/api/v1/",
            )
            assert await transactions_since(client, NOW) == []
        (request,) = fake.requests
        assert str(request.url).startswith("https://billing.example.test/api/v1/wallet/transactions?")
        assert request.headers["Authorization"] == f"Bearer {API_KEY}"


class TestUnreadable:
    @pytest.mark.parametrize(
        "body",
        [
            {"items": []},
            {"transactions": "none"},
            {"transactions": [{"id": 1, "transaction_type": "usage_deduction", "created_at": "2026-05-01T00:00:00Z"}]},
            {"transactions": [row(1, 1) | {"amount_cents": "lots"}]},
            {"transactions": [row(1, 1) | {"created_at": "yesterday"}]},
            {"transactions": [row(1, 1) | {"amount_cents": True}]},
        ],
    )
    async def test_a_body_off_the_spec_is_an_upstream_error(
        self, client: ResembleClient, fake: FakeResemble, body: dict[str, Any]
    ):
        fake.then(json_response(200, body))
        with pytest.raises(LedgerUnreadable) as raised:
            await transactions_since(client, NOW - timedelta(hours=24))
        assert raised.value.status_code == 502
