"""API-key extraction in every form Resemble's clients send, and redaction for the request log.

Accepted: `Authorization: Bearer <key>`, a bare `Authorization: <key>` (Resemble's curl examples),
`Authorization: Token token=<key>` / `Token <key>` (the official Python SDK on the app API) and, when no
Authorization header is present, `x-access-token: <key>` (the SDK's streaming call).
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

INVALID_TOKEN_MESSAGE = "Invalid API token"
REDACTED = "<redacted>"
SECRET_HEADERS = frozenset({"authorization", "x-access-token", "cookie"})


def _split_scheme(value: str) -> tuple[str | None, str]:
    scheme, _, rest = value.strip().partition(" ")
    if rest and scheme.lower() in {"bearer", "token"}:
        return scheme, rest.strip()
    return None, value.strip()


def extract_key(headers: Mapping[str, str]) -> str | None:
    authorization = headers.get("authorization")
    if authorization is None:
        token = headers.get("x-access-token", "").strip()
        return token or None
    scheme, credential = _split_scheme(authorization)
    if scheme is not None and scheme.lower() == "token" and credential.lower().startswith("token="):
        credential = credential[len("token=") :].strip().strip('"')
    return credential or None


def key_is_valid(presented: str | None, expected: str | tuple[str, ...] | None) -> bool:
    """Whether `presented` is one of the `expected` keys (None: any non-empty key)."""
    if not presented:
        return False
    if expected is None:
        return True
    keys = (expected,) if isinstance(expected, str) else expected
    # Every key compared, none short-circuited: the time taken does not say which key came close.
    return sum(hmac.compare_digest(presented.encode(), key.encode()) for key in keys) > 0


def key_label(key: str) -> str:
    """How the request log names an account: the last four characters of its key, never more."""
    return key[-4:]


def redact_header(name: str, value: str) -> str:
    """Keep only the auth scheme of a secret header, e.g. `Bearer <redacted>`."""
    if name.lower() not in SECRET_HEADERS:
        return value
    if name.lower() == "authorization":
        scheme, _ = _split_scheme(value)
        if scheme is not None:
            return f"{scheme} {REDACTED}"
    return REDACTED
