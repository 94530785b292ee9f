from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from voicegate.admin import service as accounts
from voicegate.admin.service import IssuedKey
from voicegate.auth.service import CredentialCache
from voicegate.db.models import ApiKey, ProviderResembleUsage, User
from voicegate.errors import NotFound
from voicegate.kit.money import quantize_usd
from voicegate.kit.time import utc_now
from voicegate.resemble.metering import billing_view
from voicegate.storage import service as storage_service
from voicegate.storage.base import StorageBackend
from voicegate.user import repository
from voicegate.user.schemas import (
    ActivityBilling,
    ActivityItem,
    ActivityMedia,
    ActivityPage,
    CapabilityUsage,
    SpendDay,
    SpendRead,
    UsageRead,
)

ZERO = Decimal(0)


async def usage_summary(session: AsyncSession, user_id: str) -> UsageRead:
    """Read in the request's own transaction: balance, email and tier as they are now, never from a cache.
    Every amount is an exact decimal string."""
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("User not found")
    rows = (
        await session.execute(
            select(
                ProviderResembleUsage.capability,
                ProviderResembleUsage.unit,
                func.count(),
                func.sum(ProviderResembleUsage.quantity),
                func.sum(ProviderResembleUsage.charged_usd),
            )
            .where(ProviderResembleUsage.user_id == user_id)
            .group_by(ProviderResembleUsage.capability, ProviderResembleUsage.unit)
        )
    ).all()
    by_capability = [
        CapabilityUsage(
            capability=capability,
            unit=unit,
            requests=count,
            quantity=str(quantize_usd(quantity or ZERO)),
            charged_usd=str(quantize_usd(charged or ZERO)),
        )
        for capability, unit, count, quantity, charged in rows
    ]
    total = quantize_usd(sum((Decimal(item.charged_usd) for item in by_capability), ZERO))
    balance = str(quantize_usd(user.balance_usd or ZERO))
    return UsageRead(
        user_id=user.id,
        email=user.email,
        tier=user.tier,
        credits_usd=balance,
        remaining_credits=balance,
        total_spent_usd=str(total),
        total_requests=sum(item.requests for item in by_capability),
        by_capability=by_capability,
    )


async def spend_by_day(session: AsyncSession, user_id: str, days: int, now: datetime | None = None) -> SpendRead:
    """Charges per UTC day and capability over the last `days` days, today included; days without a charge are
    listed with nothing, so a chart's axis is continuous. Sums are exact decimals of the stored charges."""
    today = (now or utc_now()).date()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, time.min, tzinfo=UTC)
    sums: dict[date, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    for when, capability, charged in await repository.charges_since(session, user_id, since):
        sums[when.astimezone(UTC).date()][capability] += charged
    capabilities = sorted({capability for day in sums.values() for capability in day})
    by_day = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        spent = sums.get(day, {})
        by_day.append(
            SpendDay(
                date=day.isoformat(),
                by_capability={c: str(quantize_usd(spent.get(c, ZERO))) for c in capabilities},
                total_usd=str(quantize_usd(sum(spent.values(), ZERO))),
            )
        )
    totals = {c: quantize_usd(sum((day.get(c, ZERO) for day in sums.values()), ZERO)) for c in capabilities}
    return SpendRead(
        days=days,
        capabilities=capabilities,
        by_day=by_day,
        totals={c: str(amount) for c, amount in totals.items()},
        total_usd=str(quantize_usd(sum(totals.values(), ZERO))),
    )


async def list_keys(session: AsyncSession, user_id: str) -> list[ApiKey]:
    """The caller's keys, newest first, revoked ones included (they show when they were revoked)."""
    return list(await repository.list_keys(session, user_id))


async def create_key(session: AsyncSession, user_id: str, name: str) -> IssuedKey:
    """A new key for the caller; its plaintext exists only in this answer."""
    issued = await accounts.issue_key(session, user_id, name=name)
    await session.commit()
    await session.refresh(issued.key)
    return issued


async def revoke_key(session: AsyncSession, user_id: str, key_id: str, credentials: CredentialCache) -> ApiKey:
    """Revoke one of the caller's own keys; another user's key id is not found."""
    return await accounts.revoke_key(session, key_id, user_id=user_id, credentials=credentials)


ACTIVITY_PAGE_SIZE = 20


async def _item(row: repository.ActivityRow, storage: StorageBackend, link_ttl: timedelta) -> ActivityItem:
    request, usage, asset = row
    billing = None
    if usage is not None:  # the same figures, rounded the same way, as the `billing` of the call's own answer
        view = billing_view(usage)
        billing = ActivityBilling(
            unit=view["unit"],
            quantity=view["quantity"],
            provider_cost_usd=view["provider_cost"],
            markup_pct=view["markup_pct"],
            charged_usd=view["charged"],
        )
    media = None
    if asset is not None:
        url = (
            None if storage_service.is_expired(asset) else (await storage_service.presign(storage, asset, link_ttl)).url
        )
        media = ActivityMedia(
            content_type=asset.content_type, size_bytes=asset.size_bytes, expires_at=asset.expires_at, url=url
        )
    return ActivityItem(
        request_id=request.id,
        created_at=request.created_at,
        capability=request.capability,
        operation=request.operation,
        status=request.status,
        billing=billing,
        media=media,
    )


async def activity(
    session: AsyncSession,
    storage: StorageBackend,
    user_id: str,
    *,
    capability: str | None,
    status: str | None,
    page: int,
    link_ttl: timedelta,
) -> ActivityPage:
    """One page of the caller's requests, newest first, each with its charge and a fresh link to its media."""
    rows = await repository.activity(
        session,
        user_id,
        capability=capability,
        status=status,
        offset=(page - 1) * ACTIVITY_PAGE_SIZE,
        limit=ACTIVITY_PAGE_SIZE + 1,
    )
    items = [await _item(row, storage, link_ttl) for row in rows[:ACTIVITY_PAGE_SIZE]]
    return ActivityPage(items=items, page=page, has_more=len(rows) > ACTIVITY_PAGE_SIZE)


async def activity_item(
    session: AsyncSession, storage: StorageBackend, user_id: str, request_id: str, *, link_ttl: timedelta
) -> ActivityItem:
    """One of the caller's requests; another user's request id is not found."""
    row = await repository.activity_item(session, user_id, request_id)
    if row is None:
        raise NotFound("Request not found")
    return await _item(row, storage, link_ttl)
