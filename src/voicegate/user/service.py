from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from voicegate.db.models import ProviderResembleUsage, User
from voicegate.errors import NotFound
from voicegate.kit.money import quantize_usd
from voicegate.user.schemas import CapabilityUsage, UsageRead

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
