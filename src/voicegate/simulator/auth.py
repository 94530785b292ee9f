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


def key_is_valid(presented: str | None, expected: str | None) -> bool:
    if not presented:
        return False
    if expected is None:
        return True
    return hmac.compare_digest(presented.encode(), expected.encode())


def redact_header(name: str, value: str) -> str:
    """Keep only the auth scheme of a secret header, e.g. `Bearer <redacted>`."""
    if name.lower() not in SECRET_HEADERS:
        return value
    if name.lower() == "authorization":
        scheme, _ = _split_scheme(value)
        if scheme is not None:
            return f"{scheme} {REDACTED}"
    return REDACTED
