from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from voicegate.db.base import Base, IdMixin, UTCDateTime


class UserErasure(IdMixin, Base):
    """The record of one user's erasure (GDPR): who asked, when, how far it got and what it removed.

    One row per user (`user_id` unique): written when the erasure starts, before anything is removed, so a user is
    refused new credit and keys from that moment. `steps` holds each step's state and counts, updated as it goes,
    so a run that stopped half-way is resumed where it stopped (one run at a time, by `running_until`);
    `finished_at` and `report` are set once at the end, after which a repeated call answers the same report without
    doing anything.
    """

    __tablename__ = "user_erasure"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True, nullable=False)
    actor: Mapped[str] = mapped_column(String(128), nullable=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    running_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    """The lease of the run in progress, renewed at each step's progress: a second run waits for it to lapse."""
    steps: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
