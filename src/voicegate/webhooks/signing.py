"""Standard Webhooks signatures (https://www.standardwebhooks.com/), made by the specification's reference library.

Signing with `standardwebhooks` itself means a receiver that verifies with it (or any conforming library) agrees
with us byte for byte. A secret is `whsec_` + base64 of random bytes; the signed content is
`{webhook-id}.{webhook-timestamp}.{body}`, and `webhook-signature` is `v1,<base64 HMAC-SHA256>`.
"""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # "whsec_" + 44 base64 characters = 50, within users.webhook_secret (String(64))
HEADER_NAMES = ("webhook-id", "webhook-timestamp", "webhook-signature")


def new_secret() -> str:
    """A fresh signing secret (the library verifies and signs, but makes none)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def signed_headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt; `timestamp` is Unix seconds, `body` the exact bytes.

    The library signs text, and stamps whatever datetime it gets as UTC, so it gets one in UTC. The body is UTF-8
    JSON: decoding it gives back exactly the bytes that are sent.
    """
    moment = datetime.fromtimestamp(timestamp, tz=UTC)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": Webhook(secret).sign(msg_id, moment, body.decode("utf-8")),
    }
