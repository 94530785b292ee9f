from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from voicegate.db.base import Base, UTCDateTime


class TaskLock(Base):
    """Who runs a periodic task right now, when no Redis is configured: one row per task name, claimed by a
    conditional UPDATE while `held_until` has passed (see `jobs.locks`)."""

    __tablename__ = "task_locks"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    token: Mapped[str | None] = mapped_column(String(32), nullable=True)
    held_until: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
