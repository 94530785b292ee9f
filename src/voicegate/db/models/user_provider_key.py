from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from voicegate.db.base import Base, CreatedAtMixin, IdMixin, UTCDateTime


class UserProviderKey(IdMixin, CreatedAtMixin, Base):
    """A user's own API key for a provider (bring your own key), encrypted; see `byok.crypto`.

    The plaintext is never stored: `ciphertext` (AES-GCM, the user id as associated data) with its `nonce`, the
    last four characters to show the user, and a keyed `fingerprint` that names the key without decrypting it.
    """

    __tablename__ = "user_provider_keys"
    __table_args__ = (UniqueConstraint("user_id", "provider"),)

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    provider: Mapped[str] = mapped_column(String(32), nullable=False)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    nonce: Mapped[bytes] = mapped_column(LargeBinary(12), nullable=False)
    last4: Mapped[str] = mapped_column(String(4), nullable=False)
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    validated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
