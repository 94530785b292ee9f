"""Turn whatever httpx or Resemble throws at us into the gateway's error tree, in one place.

Like httpx's own `map_exceptions`, `map_upstream_errors()` wraps every call to Resemble, so routes and
services only ever see `GatewayError` subclasses:

| upstream outcome                                  | gateway error                        | status     |
|---------------------------------------------------|--------------------------------------|------------|
| `httpx.TimeoutException` (any phase)              | `UpstreamTimeout`                    | 502        |
| other `httpx` transport/protocol errors           | `UpstreamFault`                      | 502        |
| 2xx whose body is not a JSON object               | `UpstreamFault`                      | 502        |
| 5xx                                               | `UpstreamFault` + `upstream_status`  | 502        |
| 400, 404, 409, 413, 415, 422                      | `UpstreamRejected` (its message)     | same       |
| 401, 402, 403 (our account, not the caller)       | `UpstreamError`, reason logged       | 502        |
| 429 left after the retries                        | `UpstreamThrottled` + `Retry-After`  | 503        |
| anything else (3xx, other 4xx: a gateway bug)     | `UpstreamError`, logged              | 502        |
| `download()` past `max_bytes`                     | `MediaTooLarge`                      | 502        |

A final 429 becomes 503, not 429 or 502: the gateway's shared account is being throttled, which is neither the
caller's own rate limit (429 would tell the SDK "you sent too much") nor a broken upstream; 503 with
`Retry-After` says "temporarily unavailable, come back later". Only timeouts and `UpstreamFault` count against
the circuit breaker.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import httpx

from voicegate.errors import (
    Forbidden,
    GatewayError,
    Unprocessable,
    UpstreamError,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from voicegate.upstream.retry import retry_after_seconds

log = logging.getLogger("voicegate.upstream")

PASSED_THROUGH = frozenset({400, 404, 409, 413, 415, 422})
ACCOUNT_LEVEL = frozenset({401, 402, 403})
FALLBACK_REJECTION = "Resemble rejected the request"
_MAX_MESSAGE_CHARS = 500


class UpstreamFault(UpstreamError):
    """Resemble itself misbehaved (5xx, broken connection, garbage body); counts against the breaker."""


class UpstreamThrottled(UpstreamUnavailable):
    """Resemble kept answering 429 to the gateway's shared account."""

    detail = "Resemble is rate limiting the gateway; retry later"


class OwnKeyThrottled(UpstreamThrottled):
    detail = "Resemble is rate limiting your own Resemble API key; retry later"


OWN_KEY_REJECTED = (
    "Resemble rejected your own Resemble API key (401): check or replace it at /api/v1/user/byok/resemble"
)
OWN_KEY_NO_CREDIT = "Your own Resemble account is out of Resemble credit (402): top it up at Resemble"


class MediaTooLarge(UpstreamError):
    detail = "Resemble result is larger than the gateway accepts"


class MalformedResponse(Exception):
    """A 2xx whose body is not the JSON object the caller expects."""


def counts_as_outage(exc: BaseException) -> bool:
    """The circuit-breaker predicate: timeouts and upstream faults, never refusals, account errors or 429."""
    return isinstance(exc, UpstreamFault | UpstreamTimeout)


@contextmanager
def map_upstream_errors(operation: str, *, secrets: Sequence[str] = (), own_key: bool = False) -> Iterator[None]:
    """Re-raise httpx exceptions and error responses (as `httpx.HTTPStatusError`) as gateway errors.

    `secrets` are scrubbed from any upstream text that reaches a log line or an error detail; `own_key` says the
    call was made with the user's own Resemble key.
    """
    try:
        yield
    except httpx.HTTPStatusError as exc:
        raise error_for_response(exc.response, operation, secrets=secrets, own_key=own_key) from exc
    except httpx.TimeoutException as exc:
        log.warning("upstream_timeout", extra={"operation": operation, "kind": type(exc).__name__})
        raise UpstreamTimeout() from exc
    except httpx.HTTPError as exc:
        log.warning("upstream_transport_error", extra={"operation": operation, "kind": type(exc).__name__})
        raise UpstreamFault() from exc
    except MalformedResponse as exc:
        log.error("upstream_malformed_body", extra={"operation": operation, "reason": str(exc)})
        raise UpstreamFault() from exc


def error_for_response(
    response: httpx.Response, operation: str, *, secrets: Sequence[str] = (), own_key: bool = False
) -> GatewayError:
    """The gateway error for a non-2xx answer from Resemble (see the module table)."""
    status = response.status_code
    if status in PASSED_THROUGH:
        return UpstreamRejected(rejection_message(response, secrets=secrets), status_code=status)
    if status == 429:
        wait = retry_after_seconds(response.headers)
        log.warning("upstream_throttled", extra={"operation": operation, "retry_after_s": wait, "own_key": own_key})
        throttled = OwnKeyThrottled if own_key else UpstreamThrottled
        return throttled(retry_after_s=math.ceil(wait) if wait is not None else 1)
    if own_key and status in ACCOUNT_LEVEL:
        return own_key_error(response, operation, secrets=secrets)
    if status >= 500:
        log.warning("upstream_server_error", extra={"operation": operation, "status": status})
        return UpstreamFault(extra={"upstream_status": status})
    # Our account or our own request is at fault, not the caller: hide the reason from them, keep it for us.
    reason = rejection_message(response, secrets=secrets)
    event = "upstream_account_error" if status in ACCOUNT_LEVEL else "upstream_unexpected_status"
    log.error(event, extra={"operation": operation, "status": status, "reason": reason})
    return UpstreamError()


def own_key_error(response: httpx.Response, operation: str, *, secrets: Sequence[str] = ()) -> GatewayError:
    """A 401/402/403 from the user's own Resemble account: the user's to fix, so said to them."""
    status = response.status_code
    log.info("upstream_own_key_refused", extra={"operation": operation, "status": status})
    if status == 401:
        return Unprocessable(OWN_KEY_REJECTED)
    if status == 402:
        return Unprocessable(OWN_KEY_NO_CREDIT)
    reason = rejection_message(response, secrets=secrets)
    return Forbidden(
        f"Your own Resemble API key is not allowed to {operation.replace('_', ' ')} (Resemble answered 403: {reason})"
    )


def rejection_message(response: httpx.Response, *, secrets: Sequence[str] = ()) -> str:
    """Resemble's own words from its `Error` shape: `message`, else `error`, else the joined `errors`."""
    try:
        body = response.json()
    except ValueError:
        return FALLBACK_REJECTION
    message = _message_from(body) if isinstance(body, dict) else None
    if not message:
        return FALLBACK_REJECTION
    for secret in secrets:
        if secret:
            message = message.replace(secret, "***")
    return message[:_MAX_MESSAGE_CHARS]


def _message_from(body: dict[str, Any]) -> str | None:
    for key in ("message", "error"):
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    errors = body.get("errors")
    if isinstance(errors, dict):
        parts = [f"{field}: {_join(problems)}" for field, problems in errors.items()]
        return "; ".join(parts) or None
    if isinstance(errors, list):
        return _join(errors) or None
    return None


def _join(problems: object) -> str:
    if isinstance(problems, list):
        return ", ".join(str(problem) for problem in problems)
    return str(problems)
