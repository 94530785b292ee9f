from __future__ import annotations

from decimal import Decimal

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from voicegate.db.base import Base, CreatedAtMixin, IdMixin, Micros


class User(IdMixin, CreatedAtMixin, Base):
    """A customer. `balance_usd` is spendable credit; open holds have already been taken out of it."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("balance_usd >= 0", name="balance_not_negative"),)

    email: Mapped[str] = mapped_column(String(320), unique=True, nullable=False)
    # The rate-limit row (ratelimit/rules.py `Tier`): "free" unless an admin sets "paid".
    tier: Mapped[str] = mapped_column(String(32), nullable=False, default="free", server_default="free")
    balance_usd: Mapped[Decimal] = mapped_column(Micros(), nullable=False, default=Decimal(0))
    webhook_secret: Mapped[str | None] = mapped_column(String(64), nullable=True)
