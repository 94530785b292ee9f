"""Resemble's wallet ledger, on the wire: `GET {billing_url}/wallet/transactions` (`BillingTransactionsResponse`).

Per `resemble-openapi.json`: `{transactions: [BillingWalletTransaction], pagination?: {page, per_page,
total_count, total_pages}}`, newest first, `per_page` capped at 100. A transaction is `{id, transaction_type,
amount_cents (+credit / -debit, a number with fractions), balance_after_cents, description, metadata,
created_at}`; what the account was charged for usage are the `usage_deduction` rows. The billing server is
unconfirmed (RESEMBLE_API.md), so its base URL is `ResembleClient.billing_url` (RESEMBLE_BILLING_BASE_URL).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from voicegate.errors import UpstreamError
from voicegate.upstream.client import ResembleClient

USAGE_DEDUCTION = "usage_deduction"
PER_PAGE = 100  # the spec's maximum
MAX_PAGES = 500  # 50,000 rows: a window that long is not a reconciliation Resemble's API can serve


@dataclass(frozen=True)
class WalletTransaction:
    id: int
    transaction_type: str
    amount_cents: Decimal
    created_at: datetime
    description: str | None


class LedgerUnreadable(UpstreamError):
    """The wallet ledger answered, but not in the documented shape, or was too long to read."""

    detail = "Resemble's wallet ledger could not be read"


async def list_transactions(client: ResembleClient, *, page: int, per_page: int = PER_PAGE) -> dict[str, Any]:
    """One page of the ledger, newest first."""
    return await client.request_json(
        "GET",
        f"{client.billing_url}/wallet/transactions",
        params={"page": page, "per_page": per_page},
        idempotent=True,
        operation="billing.wallet_transactions",
    )


async def transactions_since(client: ResembleClient, since: datetime) -> list[WalletTransaction]:
    """Every transaction created at or after `since`, reading pages until one reaches back past it."""
    found: list[WalletTransaction] = []
    for page in range(1, MAX_PAGES + 1):
        body = await list_transactions(client, page=page)
        rows = [_transaction(row) for row in _rows(body)]
        found.extend(row for row in rows if row.created_at >= since)
        if not rows or min(row.created_at for row in rows) < since or page >= _total_pages(body, page):
            return found
    raise LedgerUnreadable(extra={"reason": f"more than {MAX_PAGES} pages in the window"})


def _rows(body: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    rows = body.get("transactions")
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise LedgerUnreadable(extra={"reason": "no transactions list"})
    return rows


def _total_pages(body: Mapping[str, Any], page: int) -> int:
    """Without pagination metadata the answer is the whole (recent) ledger: this page is the last."""
    pagination = body.get("pagination")
    total = pagination.get("total_pages") if isinstance(pagination, dict) else None
    return total if isinstance(total, int) and not isinstance(total, bool) else page


def _transaction(row: Mapping[str, Any]) -> WalletTransaction:
    try:
        ident = int(row.get("id") or 0)
        amount = Decimal(str(row["amount_cents"]))  # str() first: a JSON number must not pass through binary
        created = datetime.fromisoformat(str(row["created_at"]).replace("Z", "+00:00"))
    except (KeyError, TypeError, InvalidOperation, ValueError) as exc:
        raise LedgerUnreadable(extra={"reason": f"transaction {row.get('id')!r}: {exc!r}"}) from exc
    if not amount.is_finite() or isinstance(row["amount_cents"], bool):
        raise LedgerUnreadable(extra={"reason": f"transaction {row.get('id')!r}: amount_cents is not a number"})
    description = row.get("description")
    return WalletTransaction(
        id=ident,
        transaction_type=str(row.get("transaction_type") or ""),
        amount_cents=amount,
        created_at=created if created.tzinfo else created.replace(tzinfo=UTC),
        description=description if isinstance(description, str) else None,
    )
