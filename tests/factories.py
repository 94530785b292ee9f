"""Plain async factories: the rows a test needs, made through the same services the product uses."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from voicegate.admin import service as admin_service
from voicegate.db.models import User
from voicegate.kit.ids import new_id


@dataclass
class Customer:
    user: User
    api_key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


async def create_customer(session: AsyncSession, credits: str = "10.00", tier: str = "standard") -> Customer:
    user, issued = await admin_service.create_user(
        session, email=f"user-{new_id()[:12]}@example.com", credits_usd=Decimal(credits), tier=tier
    )
    await session.commit()
    return Customer(user=user, api_key=issued.plaintext)
