"""Standard Webhooks signatures: the specification's published example, a hand-computed HMAC, and the reference
library's own verifier accepting what we send (and refusing what was tampered with)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from voicegate.webhooks.signing import HEADER_NAMES, new_secret, signed_headers

# The example in the Standard Webhooks specification and its reference libraries (a 24-byte key).
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def by_hand(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret[len("whsec_") :])
    mac = hmac.new(key, msg_id.encode() + b"." + str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


class TestSecrets:
    def test_shape_and_size(self) -> None:
        secret = new_secret()

        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
        assert len(secret) <= 64  # users.webhook_secret is String(64)
        assert new_secret() != secret


class TestSignedHeaders:
    def test_the_specification_example(self) -> None:
        assert signed_headers(SPEC_SECRET, SPEC_MSG_ID, SPEC_TIMESTAMP, SPEC_BODY) == {
            "webhook-id": SPEC_MSG_ID,
            "webhook-timestamp": str(SPEC_TIMESTAMP),
            "webhook-signature": SPEC_SIGNATURE,
        }
        assert tuple(signed_headers(SPEC_SECRET, SPEC_MSG_ID, SPEC_TIMESTAMP, SPEC_BODY)) == HEADER_NAMES

    def test_a_non_ascii_body_is_signed_as_its_utf8_bytes(self) -> None:
        secret = new_secret()
        body = '{"type":"job.completed","data":{"text":"héllo ✓"}}'.encode()

        headers = signed_headers(secret, "abc123", 1700000000, body)

        assert headers["webhook-signature"] == by_hand(secret, "abc123", 1700000000, body)

    def test_the_reference_verifier_accepts_them(self) -> None:
        secret, body, now = new_secret(), '{"data":{"n":"é"}}'.encode(), int(time.time())

        headers = signed_headers(secret, "delivery-1", now, body)

        assert Webhook(secret).verify(body, headers) == {"data": {"n": "é"}}

    @pytest.mark.parametrize("tamper", ["body", "id", "timestamp", "secret"])
    def test_the_reference_verifier_refuses_a_changed_message(self, tamper: str) -> None:
        secret, body, now = new_secret(), b'{"n":1}', int(time.time())
        headers = signed_headers(secret, "delivery-1", now, body)
        if tamper == "body":
            body = b'{"n":2}'
        elif tamper == "id":
            headers["webhook-id"] = "delivery-2"
        elif tamper == "timestamp":
            headers["webhook-timestamp"] = str(now - 1)
        else:
            secret = new_secret()

        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(body, headers)
