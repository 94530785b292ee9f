from __future__ import annotations

from decimal import Decimal

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from voicegate.db.base import Base, CreatedAtMixin, IdMixin, Micros


class LedgerEntry(IdMixin, CreatedAtMixin, Base):
    """Append-only record of every balance movement; `SUM(amount_usd)` per user equals `users.balance_usd`.

    Kinds: grant (admin credit or correction), hold (estimate reserved before upstream), release (hold returned),
    capture (hold settled: returns the estimate minus the real charge), charge (direct charge without a hold).
    `(correlation_id, kind)` is unique, so the same request can never be held, captured or released twice.
    """

    __tablename__ = "ledger_entries"
    __table_args__ = (UniqueConstraint("correlation_id", "kind"),)

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    amount_usd: Mapped[Decimal] = mapped_column(Micros(), nullable=False)
    correlation_id: Mapped[str] = mapped_column(String(64), nullable=False)
    note: Mapped[str | None] = mapped_column(String(255), nullable=True)
