from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from voicegate.db.models import ProviderResembleUsage, User
from voicegate.errors import NotFound


async def usage_summary(session: AsyncSession, user_id: str) -> dict[str, Any]:
    """Read in the request's own transaction: balance, email and tier as they are now, never from a cache."""
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
        {
            "capability": capability,
            "unit": unit,
            "requests": count,
            "quantity": float(quantity or 0),
            "charged_usd": str(charged or Decimal("0.000000")),
        }
        for capability, unit, count, quantity, charged in rows
    ]
    total = sum((Decimal(str(item["charged_usd"])) for item in by_capability), Decimal(0))
    balance = user.balance_usd
    return {
        "user_id": user.id,
        "email": user.email,
        "tier": user.tier,
        "credits_usd": str(balance),
        "remaining_credits": float(balance or 0),
        "total_spent_usd": str(total),
        "by_capability": by_capability,
    }
