from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from voicegate.db.base import Base, CreatedAtMixin, IdMixin, UTCDateTime


class ProviderResembleResource(IdMixin, CreatedAtMixin, Base):
    """Who owns an object created in the shared Resemble account (a project, a clip, an agent, ...).

    Every user's objects live in one upstream account, so this table is the only thing that says an upstream id
    belongs to a user. A child (clip, agent tool, agent webhook) points at its parent's row. `deleted_at` is set
    once Resemble confirms the delete (or answers that the object is gone); such rows are never served again.
    `snapshot` keeps Resemble's item for kinds it offers no read of (identities), so they are served from here.
    """

    __tablename__ = "provider_resemble_resource"
    __table_args__ = (
        UniqueConstraint("kind", "upstream_id"),
        Index("ix_provider_resemble_resource_owner_listing", "user_id", "kind", "deleted_at", "created_at"),
    )

    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    upstream_id: Mapped[str] = mapped_column(String(64), nullable=False)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False)
    parent_id: Mapped[str | None] = mapped_column(
        ForeignKey("provider_resemble_resource.id", ondelete="CASCADE"), index=True, nullable=True
    )
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    asset_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    """The stored media the object was made from (a voice recording's audio under `voice-recordings/`)."""
    snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
