from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from voicegate.db.base import Base, IdMixin, UTCDateTime
from voicegate.kit.time import utc_now


class GatewaySettingChange(IdMixin, Base):
    """One change of a runtime setting, append-only: who set which value when, and what it was before.

    `old_value` is the value in effect before the change (the environment's default when no row existed).
    """

    __tablename__ = "gateway_setting_changes"
    __table_args__ = (Index("ix_gateway_setting_changes_key_changed_at", "key", "changed_at"),)

    key: Mapped[str] = mapped_column(String(64), nullable=False)
    old_value: Mapped[Any] = mapped_column(JSON, nullable=False)
    new_value: Mapped[Any] = mapped_column(JSON, nullable=False)
    actor: Mapped[str] = mapped_column(String(128), nullable=False)
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now, index=True, nullable=False)
