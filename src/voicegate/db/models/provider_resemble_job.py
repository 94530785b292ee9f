from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from voicegate.db.base import Base, CreatedAtMixin, IdMixin, Micros, UTCDateTime


class JobStatus(StrEnum):
    """A job's life: pending -> processing -> completed | failed. It only moves forward; the last two are final."""

    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"

    @property
    def rank(self) -> int:
        """Position in the life above: a status never overwrites one of higher rank."""
        return _RANK[self]


# The statuses a job can still leave; it ends only through an UPDATE `... WHERE status IN OPEN_STATUSES`.
OPEN_STATUSES: tuple[JobStatus, ...] = (JobStatus.PENDING, JobStatus.PROCESSING)
_RANK = {JobStatus.PENDING: 0, JobStatus.PROCESSING: 1, JobStatus.COMPLETED: 2, JobStatus.FAILED: 2}


class ProviderResembleJob(IdMixin, CreatedAtMixin, Base):
    """An asynchronous Resemble job (STT, enhance, detect, ...) tracked until it is completed or failed."""

    __tablename__ = "provider_resemble_job"
    __table_args__ = (UniqueConstraint("capability", "upstream_id"),)

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False)
    request_id: Mapped[str] = mapped_column(
        ForeignKey("provider_resemble_request.id", ondelete="CASCADE"), nullable=False
    )
    capability: Mapped[str] = mapped_column(String(32), nullable=False)
    upstream_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=JobStatus.PENDING, index=True)
    rate_key: Mapped[str | None] = mapped_column(String(32), nullable=True)
    quantity: Mapped[Decimal | None] = mapped_column(Micros(), nullable=True)
    input_asset_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    input_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    input_seconds: Mapped[Decimal | None] = mapped_column(Micros(), nullable=True)
    # What the credit hold was placed for: billed when the finished job's duration cannot be measured.
    estimate_rate_key: Mapped[str | None] = mapped_column(String(32), nullable=True)
    estimated_quantity: Mapped[Decimal | None] = mapped_column(Micros(), nullable=True)
    params: Mapped[str | None] = mapped_column(Text, nullable=True)
    output_url: Mapped[str | None] = mapped_column(String(4096), nullable=True)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    callback_token: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    callback_uri: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    result: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    byok_fingerprint: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """Submitted with the user's own Resemble key (its fingerprint): polled, mirrored and settled with that key."""
