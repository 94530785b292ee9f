from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from voicegate.db.base import Base, CreatedAtMixin, IdMixin, UTCDateTime


class ProviderResembleVoice(IdMixin, CreatedAtMixin, Base):
    """What the gateway keeps about a voice a user cloned or designed, next to its ownership row.

    - `consent_text`: the speaker's consent the caller gave at creation, kept as evidence;
    - `build_status`: `not_built -> building -> built | failed`, as last seen upstream;
    - `billing_anchor_at`: the start of the first paid month; period n runs from anchor + n months;
    - `suspended_at`: set while a renewal could not be paid; synthesis with the voice answers 402 until it is;
    - `model_asset_id`: the stored copy of Resemble's voice item at build completion (`voice-models/`).
    """

    __tablename__ = "provider_resemble_voice"

    resource_id: Mapped[str] = mapped_column(
        ForeignKey("provider_resemble_resource.id", ondelete="CASCADE"), unique=True, nullable=False
    )
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False)
    voice_type: Mapped[str] = mapped_column(String(16), nullable=False)
    consent_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    build_status: Mapped[str] = mapped_column(String(16), nullable=False, default="not_built")
    billing_anchor_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    model_asset_id: Mapped[str | None] = mapped_column(String(32), nullable=True)


class ProviderResembleVoiceSubscription(IdMixin, CreatedAtMixin, Base):
    """One paid month of one voice. The unique `(voice_id, period_index)` makes a second charge for the same month
    impossible, whichever of the build, the renewal task or a resumed synthesis gets there first."""

    __tablename__ = "provider_resemble_voice_subscription"
    __table_args__ = (UniqueConstraint("voice_id", "period_index"),)

    voice_id: Mapped[str] = mapped_column(
        ForeignKey("provider_resemble_voice.id", ondelete="CASCADE"), index=True, nullable=False
    )
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False)
    period_index: Mapped[int] = mapped_column(Integer, nullable=False)
    period_start: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    period_end: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    request_id: Mapped[str] = mapped_column(
        ForeignKey("provider_resemble_request.id", ondelete="CASCADE"), unique=True, nullable=False
    )
