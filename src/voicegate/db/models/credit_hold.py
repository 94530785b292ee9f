from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from voicegate.db.base import Base, CreatedAtMixin, IdMixin, Micros, UTCDateTime


class CreditHold(IdMixin, CreatedAtMixin, Base):
    """Credit reserved for one in-flight request: `held` until captured, released, or swept after `expires_at`."""

    __tablename__ = "credit_holds"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False)
    correlation_id: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    amount_usd: Mapped[Decimal] = mapped_column(Micros(), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="held", index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    shortfall_usd: Mapped[Decimal] = mapped_column(Micros(), nullable=False, default=Decimal(0))
