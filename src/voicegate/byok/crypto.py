"""Users' own Resemble keys at rest: AES-256-GCM with the user's id as associated data, and a keyed fingerprint.

`BYOK_ENCRYPTION_KEY` (urlsafe base64 of 32 random bytes) is the master key. Two keys are derived from it with
HKDF-SHA256, one per purpose, so the fingerprint key never encrypts and the encryption key never hashes:

- encryption: a fresh random 96-bit nonce per stored key; the associated data is the owner's user id, so a
  ciphertext copied onto another user's row does not decrypt;
- fingerprint: HMAC-SHA256 of the API key, which names a key (client caches, jobs remembering which key they were
  submitted with) without decrypting it, and says nothing about it to whoever reads the database.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES: Final = 32
NONCE_BYTES: Final = 12
INVALID_KEY = (
    "BYOK_ENCRYPTION_KEY must be urlsafe base64 of exactly 32 bytes (e.g. `openssl rand -base64 32 | tr '+/' '-_'`)"
)


class UnreadableKey(Exception):
    """A stored key that does not decrypt: the wrong master key, another user's row, or a tampered ciphertext."""


def decode_master_key(text: str) -> bytes:
    """The 32 bytes `text` encodes, or ValueError saying what a valid value is (the setting fails at startup)."""
    try:
        raw = base64.b64decode(text.strip().encode("ascii"), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise ValueError(INVALID_KEY) from None
    if len(raw) != KEY_BYTES:
        raise ValueError(INVALID_KEY)
    return raw


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=b"voicegate byok " + purpose).derive(
        master
    )


class KeyCipher:
    def __init__(self, master: bytes) -> None:
        self._aead = AESGCM(_derive(master, b"encryption"))
        self._fingerprint_key = _derive(master, b"fingerprint")

    @classmethod
    def from_setting(cls, text: str) -> KeyCipher:
        return cls(decode_master_key(text))

    def encrypt(self, api_key: str, user_id: str) -> tuple[bytes, bytes]:
        """(ciphertext with its tag, nonce) for `api_key`, bound to `user_id`."""
        nonce = os.urandom(NONCE_BYTES)
        return self._aead.encrypt(nonce, api_key.encode(), user_id.encode()), nonce

    def decrypt(self, ciphertext: bytes, nonce: bytes, user_id: str) -> str:
        try:
            return self._aead.decrypt(nonce, ciphertext, user_id.encode()).decode()
        except (InvalidTag, ValueError, UnicodeDecodeError):
            raise UnreadableKey() from None

    def fingerprint(self, api_key: str) -> str:
        return hmac.new(self._fingerprint_key, api_key.encode(), hashlib.sha256).hexdigest()
