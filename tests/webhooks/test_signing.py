"""Standard Webhooks signatures, checked against a hand-computed HMAC and the specification's published example."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from voicegate.webhooks import signing
from voicegate.webhooks.signing import InvalidSignature, new_secret, sign, signed_headers, verify

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

    @pytest.mark.parametrize("bad", ["whsec_", "whsec_not base64!", "whsec_abc"])
    def test_malformed_secrets_are_rejected(self, bad: str) -> None:
        with pytest.raises(ValueError, match="secret"):
            signing.secret_key(bad)


class TestSign:
    def test_matches_a_hand_computed_hmac(self) -> None:
        secret = new_secret()
        body = '{"type":"job.completed","data":{"id":"é"}}'.encode()

        assert sign(secret, "abc123", 1700000000, body) == by_hand(secret, "abc123", 1700000000, body)

    def test_matches_the_specification_example(self) -> None:
        assert sign(SPEC_SECRET, SPEC_MSG_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE
        assert by_hand(SPEC_SECRET, SPEC_MSG_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE

    def test_the_prefix_is_optional_in_the_secret(self) -> None:
        unprefixed = SPEC_SECRET.removeprefix("whsec_")
        assert sign(unprefixed, SPEC_MSG_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE

    def test_headers(self) -> None:
        headers = signed_headers(SPEC_SECRET, SPEC_MSG_ID, SPEC_TIMESTAMP, SPEC_BODY)

        assert headers == {
            "webhook-id": SPEC_MSG_ID,
            "webhook-timestamp": str(SPEC_TIMESTAMP),
            "webhook-signature": SPEC_SIGNATURE,
        }


class TestVerify:
    def headers(self, signature: str = SPEC_SIGNATURE, timestamp: int = SPEC_TIMESTAMP) -> dict[str, str]:
        return {"Webhook-Id": SPEC_MSG_ID, "Webhook-Timestamp": str(timestamp), "Webhook-Signature": signature}

    def test_accepts_the_specification_example(self) -> None:
        verify(SPEC_SECRET, self.headers(), SPEC_BODY, now=SPEC_TIMESTAMP + 10)

    def test_accepts_any_matching_entry_of_several(self) -> None:
        other = sign(new_secret(), SPEC_MSG_ID, SPEC_TIMESTAMP, SPEC_BODY)
        verify(SPEC_SECRET, self.headers(f"v2,xyz {other} {SPEC_SIGNATURE}"), SPEC_BODY, now=SPEC_TIMESTAMP)

    @pytest.mark.parametrize(
        ("secret", "headers", "body", "now", "reason"),
        [
            (SPEC_SECRET, {}, SPEC_BODY, SPEC_TIMESTAMP, "missing"),
            (SPEC_SECRET, None, b'{"test": 2432232315}', SPEC_TIMESTAMP, "no signature matches"),
            (new_secret(), None, SPEC_BODY, SPEC_TIMESTAMP, "no signature matches"),
            (SPEC_SECRET, None, SPEC_BODY, SPEC_TIMESTAMP + 301, "tolerance"),
            (SPEC_SECRET, None, SPEC_BODY, SPEC_TIMESTAMP - 301, "tolerance"),
        ],
    )
    def test_refuses(self, secret: str, headers: dict[str, str] | None, body: bytes, now: int, reason: str) -> None:
        with pytest.raises(InvalidSignature, match=reason):
            verify(secret, self.headers() if headers is None else headers, body, now=now)

    def test_refuses_a_signature_for_another_timestamp(self) -> None:
        with pytest.raises(InvalidSignature, match="no signature matches"):
            verify(SPEC_SECRET, self.headers(timestamp=SPEC_TIMESTAMP + 1), SPEC_BODY, now=SPEC_TIMESTAMP)

    def test_refuses_an_unknown_version(self) -> None:
        with pytest.raises(InvalidSignature):
            verify(SPEC_SECRET, self.headers(SPEC_SIGNATURE.replace("v1,", "v1a,")), SPEC_BODY, now=SPEC_TIMESTAMP)
