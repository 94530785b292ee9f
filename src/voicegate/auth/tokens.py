"""API keys and access tokens: how they are made, hashed and checked. Pure functions, no I/O."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

API_KEY_PREFIX = "vg_"
JWT_ALGORITHM = "HS256"
JWT_ISSUER = "voicegate"


@dataclass(frozen=True)
class NewApiKey:
    plaintext: str
    prefix: str
    key_hash: str


def hash_api_key(plaintext: str) -> str:
    # Keys carry 192 bits of randomness, so a fast digest is enough; no salt or KDF is needed.
    return hashlib.sha256(plaintext.encode()).hexdigest()


def generate_api_key() -> NewApiKey:
    prefix = secrets.token_hex(6)
    plaintext = f"{API_KEY_PREFIX}{prefix}_{secrets.token_urlsafe(24)}"
    return NewApiKey(plaintext=plaintext, prefix=prefix, key_hash=hash_api_key(plaintext))


def split_api_key(candidate: str) -> str | None:
    """The lookup prefix of a well-formed key, or None when it cannot be one of ours."""
    if not candidate.startswith(API_KEY_PREFIX) or len(candidate) > 128:
        return None
    prefix, sep, secret = candidate[len(API_KEY_PREFIX) :].partition("_")
    if not sep or len(prefix) != 12 or not secret:
        return None
    return prefix


def api_key_matches(candidate: str, key_hash: str) -> bool:
    return hmac.compare_digest(hash_api_key(candidate), key_hash)


def issue_access_token(*, user_id: str, key_id: str, secret: str, now: datetime, ttl: timedelta) -> str:
    claims = {
        "sub": user_id,
        "kid": key_id,
        "iss": JWT_ISSUER,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
    }
    return jwt.encode(claims, secret, algorithm=JWT_ALGORITHM)


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    key_id: str


class InvalidToken(Exception):
    """The token is malformed, forged or expired; the message says which."""


def decode_access_token(token: str, *, secret: str) -> AccessClaims:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[JWT_ALGORITHM],
            issuer=JWT_ISSUER,
            options={"require": ["sub", "kid", "exp", "iat"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("Access token expired") from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken("Invalid access token") from exc
    return AccessClaims(user_id=str(claims["sub"]), key_id=str(claims["kid"]))
