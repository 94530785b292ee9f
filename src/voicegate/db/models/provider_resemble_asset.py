from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from voicegate.db.base import Base, CreatedAtMixin, IdMixin, UTCDateTime


class ProviderResembleAsset(IdMixin, CreatedAtMixin, Base):
    """One stored media object. `expires_at` is null for permanent asset classes.

    Past `expires_at` the object is moved to `_deleted/{storage_key}` and `deleted_at` is set (its URL is no longer
    issued); after the soft-delete window it is deleted for good and `purged_at` is set. The row stays, so a link
    to it can be answered "expired" rather than "unknown".
    """

    __tablename__ = "provider_resemble_asset"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False)
    request_id: Mapped[str | None] = mapped_column(String(32), unique=True, nullable=True)
    job_id: Mapped[str | None] = mapped_column(
        ForeignKey("provider_resemble_job.id", ondelete="CASCADE"), unique=True, nullable=True
    )
    asset_class: Mapped[str] = mapped_column(String(32), nullable=False)
    storage_backend: Mapped[str] = mapped_column(String(8), nullable=False)
    storage_key: Mapped[str] = mapped_column(String(512), unique=True, nullable=False)
    content_type: Mapped[str] = mapped_column(String(100), nullable=False)
    file_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True, index=True)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True, index=True)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
