from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from voicegate.db.base import Base, UTCDateTime


class GatewaySetting(Base):
    """A runtime setting an admin has set: its value overrides the environment's default in every process.

    Only known settings (`runtime_settings.registry`) are ever written; a setting without a row takes its default
    from the environment.
    """

    __tablename__ = "gateway_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    updated_by: Mapped[str] = mapped_column(String(128), nullable=False)
