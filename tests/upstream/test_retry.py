from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from voicegate.upstream.retry import RetryPolicy, retry_after_seconds

NOW = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
POLICY = RetryPolicy(max_retries=2, max_total_wait_s=10.0, rng=lambda: 0.5)


def response(status: int, retry_after: str | None = None) -> httpx.Response:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return httpx.Response(status, headers=headers)


class TestRetryAfter:
    @pytest.mark.parametrize(
        ("value", "seconds"),
        [
            ("3", 3.0),
            ("1.5", 1.5),
            ("-4", 0.0),
            ("Fri, 01 May 2026 12:00:07 GMT", 7.0),
            ("Fri, 01 May 2026 11:59:00 GMT", 0.0),
            ("soon", None),
            ("inf", None),
            ("", None),
        ],
    )
    def test_reads_both_forms(self, value: str, seconds: float | None) -> None:
        assert retry_after_seconds(httpx.Headers({"Retry-After": value}), now=NOW) == seconds

    def test_absent(self) -> None:
        assert retry_after_seconds(httpx.Headers()) is None


class TestPolicy:
    @pytest.mark.parametrize(
        ("status", "idempotent", "retried"),
        [(500, True, True), (503, True, True), (500, False, False), (429, False, True), (404, True, False)],
    )
    def test_which_answers_are_retried(self, status: int, idempotent: bool, retried: bool) -> None:
        delay = POLICY.delay_after_response(response(status), idempotent=idempotent, attempt=0, waited_s=0.0)

        assert (delay is not None) is retried

    @pytest.mark.parametrize(
        ("error", "idempotent", "retried"),
        [
            (httpx.ConnectError, False, True),
            (httpx.ConnectTimeout, False, True),
            (httpx.PoolTimeout, False, True),
            (httpx.ReadTimeout, False, False),
            (httpx.RemoteProtocolError, False, False),
            (httpx.ReadTimeout, True, True),
            (httpx.RemoteProtocolError, True, True),
        ],
    )
    def test_which_errors_are_retried(self, error: type[httpx.TransportError], idempotent: bool, retried: bool) -> None:
        delay = POLICY.delay_after_error(error("x"), idempotent=idempotent, attempt=0, waited_s=0.0)

        assert (delay is not None) is retried

    def test_stops_after_max_retries(self) -> None:
        assert POLICY.delay_after_response(response(500), idempotent=True, attempt=2, waited_s=0.0) is None

    def test_stops_when_the_wait_budget_would_be_exceeded(self) -> None:
        delay = POLICY.delay_after_response(response(429, "4"), idempotent=True, attempt=1, waited_s=7.0)

        assert delay is None

    def test_retry_after_wins_over_backoff(self) -> None:
        delay = POLICY.delay_after_response(response(503, "2"), idempotent=True, attempt=0, waited_s=0.0)

        assert delay == 2.0

    def test_backoff_doubles_up_to_the_cap(self) -> None:
        assert [POLICY.backoff(attempt) for attempt in range(6)] == [0.1875, 0.375, 0.75, 1.5, 1.5, 1.5]
