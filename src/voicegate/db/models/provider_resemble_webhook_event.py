from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from voicegate.db.base import Base, CreatedAtMixin, IdMixin, UTCDateTime


class ProviderResembleWebhookEvent(IdMixin, CreatedAtMixin, Base):
    """An inbound webhook delivery, stored insert-or-ignore under `(source, external_id)`."""

    __tablename__ = "provider_resemble_webhook_event"
    __table_args__ = (UniqueConstraint("source", "external_id"),)

    source: Mapped[str] = mapped_column(String(32), nullable=False)
    external_id: Mapped[str] = mapped_column(String(128), nullable=False)
    job_id: Mapped[str | None] = mapped_column(
        ForeignKey("provider_resemble_job.id", ondelete="CASCADE"), index=True, nullable=True
    )
    signature_valid: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    payload: Mapped[str] = mapped_column(Text, nullable=False)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
