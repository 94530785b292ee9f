from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column

from voicegate.db.base import Base, CreatedAtMixin, IdMixin, Micros


class ProviderResembleUsage(IdMixin, CreatedAtMixin, Base):
    """One billed unit count and its price. Unique per request and per job: a charge cannot be written twice."""

    __tablename__ = "provider_resemble_usage"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False)
    request_id: Mapped[str] = mapped_column(
        ForeignKey("provider_resemble_request.id", ondelete="CASCADE"), unique=True, nullable=False
    )
    job_id: Mapped[str | None] = mapped_column(
        ForeignKey("provider_resemble_job.id", ondelete="CASCADE"), unique=True, nullable=True
    )
    capability: Mapped[str] = mapped_column(String(32), nullable=False)
    unit: Mapped[str] = mapped_column(String(32), nullable=False)
    quantity: Mapped[Decimal] = mapped_column(Micros(), nullable=False)
    unit_price_usd: Mapped[Decimal] = mapped_column(Micros(), nullable=False)
    provider_cost_usd: Mapped[Decimal] = mapped_column(Micros(), nullable=False)
    markup_pct: Mapped[Decimal] = mapped_column(Micros(), nullable=False)
    charged_usd: Mapped[Decimal] = mapped_column(Micros(), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="USD")
    byok: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    """Made with the user's own Resemble key: no provider cost, only the platform fee (reconciliation skips it)."""
