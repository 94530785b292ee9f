from __future__ import annotations

import json
import logging

import httpx
import pytest
from prometheus_client import REGISTRY

from voicegate.config import Settings
from voicegate.errors import UpstreamError, UpstreamRejected, UpstreamTimeout
from voicegate.upstream import ResembleClient, UpstreamFault, UpstreamThrottled

from .fakes import API_KEY, BASE_URL, SYNTH_URL, FakeResemble, RecordingSleep, json_response

VOICE = {"success": True, "item": {"uuid": "55592656", "name": "Lucy"}}
AUDIO = {"success": True, "audio_content": "UklGRg==", "duration": 1.5}
SYNTH_PAYLOAD = {"voice_uuid": "55592656", "data": "Hello", "sample_rate": 22050, "output_format": "wav"}


class TestRequests:
    async def test_auth_and_accept_headers_are_sent(self, client: ResembleClient, fake: FakeResemble) -> None:
        await client.get_voice("55592656")

        headers = fake.requests[0].headers
        assert headers["Authorization"] == f"Bearer {API_KEY}"
        assert headers["Accept"] == "application/json"

    async def test_synthesize_posts_to_the_synth_host_with_sample_rate_as_string(
        self, client: ResembleClient, fake: FakeResemble
    ) -> None:
        fake.then(json_response(200, AUDIO))

        result = await client.synthesize(SYNTH_PAYLOAD)

        request = fake.requests[0]
        assert (request.method, str(request.url)) == ("POST", f"{SYNTH_URL}/synthesize")
        sent = json.loads(request.content)
        assert sent["sample_rate"] == "22050"
        assert sent["voice_uuid"] == "55592656"
        assert request.headers["Authorization"] == f"Bearer {API_KEY}"
        assert result == AUDIO
        assert SYNTH_PAYLOAD["sample_rate"] == 22050  # the caller's dict is left alone

    async def test_list_voices_sends_page_and_page_size(self, client: ResembleClient, fake: FakeResemble) -> None:
        listing = {"success": True, "page": 2, "num_pages": 3, "page_size": 25, "items": []}
        fake.then(json_response(200, listing))

        assert await client.list_voices(page=2, page_size=25) == listing

        url = fake.requests[0].url
        assert str(url.copy_with(query=None)) == f"{BASE_URL}/voices"
        assert dict(url.params) == {"page": "2", "page_size": "25"}

    async def test_get_voice_quotes_the_uuid(self, client: ResembleClient, fake: FakeResemble) -> None:
        fake.then(json_response(200, VOICE))

        assert await client.get_voice("55592656") == VOICE
        await client.get_voice("../account?x=1")

        assert str(fake.requests[0].url) == f"{BASE_URL}/voices/55592656"
        assert fake.requests[1].url.raw_path == b"/api/v2/voices/..%2Faccount%3Fx%3D1"

    async def test_a_foreign_absolute_url_gets_no_key(self, client: ResembleClient, fake: FakeResemble) -> None:
        await client.request_json("GET", "https://elsewhere.example/thing", idempotent=True, operation="probe")

        assert "Authorization" not in fake.requests[0].headers

    async def test_calls_are_counted_by_operation_and_outcome(self, client: ResembleClient, fake: FakeResemble) -> None:
        labels = {"operation": "get_voice", "outcome": "server_error"}
        before = REGISTRY.get_sample_value("voicegate_upstream_requests_total", labels) or 0.0
        fake.then(json_response(500, {}), json_response(200, VOICE))

        await client.get_voice("55592656")

        assert REGISTRY.get_sample_value("voicegate_upstream_requests_total", labels) == before + 1


class TestIdempotentRetries:
    async def test_5xx_on_get_is_retried_then_succeeds(
        self, client: ResembleClient, fake: FakeResemble, sleep: RecordingSleep
    ) -> None:
        fake.then(json_response(502, {}), json_response(200, VOICE))

        assert await client.get_voice("55592656") == VOICE
        assert fake.calls == 2
        assert len(sleep.delays) == 1

    async def test_5xx_on_get_gives_up_after_max_retries(self, client: ResembleClient, fake: FakeResemble) -> None:
        fake.then(*[json_response(500, {"message": "boom"})] * 5)

        with pytest.raises(UpstreamFault) as caught:
            await client.get_voice("55592656")

        assert fake.calls == 3
        assert caught.value.status_code == 502
        assert caught.value.detail == "Resemble upstream error"
        assert caught.value.extra == {"upstream_status": 500}

    async def test_read_timeout_on_get_is_retried(self, client: ResembleClient, fake: FakeResemble) -> None:
        fake.then(httpx.ReadTimeout, json_response(200, VOICE))

        assert await client.get_voice("55592656") == VOICE
        assert fake.calls == 2

    async def test_backoff_grows_between_attempts(
        self, client: ResembleClient, fake: FakeResemble, sleep: RecordingSleep
    ) -> None:
        fake.then(httpx.ConnectError, httpx.ConnectError, json_response(200, VOICE))

        await client.get_voice("55592656")

        first, second = sleep.delays
        assert 0.125 <= first <= 0.25
        assert 0.25 <= second <= 0.5


class TestSynthesizeIsNotRetriedOnceSent:
    async def test_5xx_is_not_retried(self, client: ResembleClient, fake: FakeResemble) -> None:
        fake.then(json_response(500, {"message": "boom"}))

        with pytest.raises(UpstreamError) as caught:
            await client.synthesize(SYNTH_PAYLOAD)

        assert fake.calls == 1
        assert caught.value.status_code == 502
        assert caught.value.detail == "Resemble upstream error"

    async def test_read_timeout_is_not_retried(self, client: ResembleClient, fake: FakeResemble) -> None:
        fake.then(httpx.ReadTimeout)

        with pytest.raises(UpstreamTimeout) as caught:
            await client.synthesize(SYNTH_PAYLOAD)

        assert fake.calls == 1
        assert caught.value.status_code == 502
        assert caught.value.detail == "Resemble upstream error"

    async def test_dropped_connection_is_not_retried(self, client: ResembleClient, fake: FakeResemble) -> None:
        fake.then(httpx.RemoteProtocolError)

        with pytest.raises(UpstreamError):
            await client.synthesize(SYNTH_PAYLOAD)

        assert fake.calls == 1

    @pytest.mark.parametrize("never_sent", [httpx.ConnectError, httpx.ConnectTimeout])
    async def test_connect_failure_is_retried(
        self, client: ResembleClient, fake: FakeResemble, never_sent: type[httpx.TransportError]
    ) -> None:
        fake.then(never_sent, json_response(200, AUDIO))

        assert await client.synthesize(SYNTH_PAYLOAD) == AUDIO
        assert fake.calls == 2


class TestRateLimiting:
    async def test_429_waits_retry_after_then_succeeds(
        self, client: ResembleClient, fake: FakeResemble, sleep: RecordingSleep
    ) -> None:
        fake.then(json_response(429, {}, headers={"Retry-After": "3"}), json_response(200, AUDIO))

        assert await client.synthesize(SYNTH_PAYLOAD) == AUDIO
        assert sleep.delays == [3.0]
        assert fake.calls == 2

    async def test_429_left_after_retries_is_503_with_retry_after(
        self, client: ResembleClient, fake: FakeResemble
    ) -> None:
        fake.then(*[json_response(429, {}, headers={"Retry-After": "2"})] * 3)

        with pytest.raises(UpstreamThrottled) as caught:
            await client.list_voices(1, 10)

        assert fake.calls == 3
        assert caught.value.status_code == 503
        assert caught.value.headers == {"Retry-After": "2"}
        assert "rate limiting" in caught.value.detail

    async def test_a_retry_after_beyond_the_wait_budget_is_not_slept(
        self, client: ResembleClient, fake: FakeResemble, sleep: RecordingSleep
    ) -> None:
        fake.then(json_response(429, {}, headers={"Retry-After": "60"}))

        with pytest.raises(UpstreamThrottled) as caught:
            await client.synthesize(SYNTH_PAYLOAD)

        assert sleep.delays == []
        assert caught.value.headers == {"Retry-After": "60"}


class TestRejections:
    @pytest.mark.parametrize("status", [400, 404, 422])
    async def test_input_errors_pass_through_with_status_and_message(
        self, client: ResembleClient, fake: FakeResemble, status: int
    ) -> None:
        fake.then(json_response(status, {"success": False, "message": "voice_uuid is invalid"}))

        with pytest.raises(UpstreamRejected) as caught:
            await client.synthesize(SYNTH_PAYLOAD)

        assert (caught.value.status_code, caught.value.detail) == (status, "voice_uuid is invalid")
        assert fake.calls == 1

    @pytest.mark.parametrize(
        ("body", "detail"),
        [
            ({"success": False, "error": "Bad voice", "message": ""}, "Bad voice"),
            (
                {"errors": {"data": ["is too long"], "sample_rate": ["bad", "worse"]}},
                "data: is too long; sample_rate: bad, worse",
            ),
            ({"errors": ["first", "second"]}, "first, second"),
            ({"success": False}, "Resemble rejected the request"),
        ],
    )
    async def test_the_message_falls_back_through_error_and_errors(
        self, client: ResembleClient, fake: FakeResemble, body: dict[str, object], detail: str
    ) -> None:
        fake.then(json_response(400, body))

        with pytest.raises(UpstreamRejected) as caught:
            await client.get_voice("x")

        assert caught.value.detail == detail

    async def test_a_non_json_rejection_gets_the_fallback_message(
        self, client: ResembleClient, fake: FakeResemble
    ) -> None:
        fake.then(httpx.Response(404, text="<html>Not Found</html>"))

        with pytest.raises(UpstreamRejected) as caught:
            await client.get_voice("x")

        assert (caught.value.status_code, caught.value.detail) == (404, "Resemble rejected the request")

    @pytest.mark.parametrize("status", [401, 402, 403])
    async def test_account_errors_are_502_with_the_reason_logged_but_never_the_key(
        self, client: ResembleClient, fake: FakeResemble, caplog: pytest.LogCaptureFixture, status: int
    ) -> None:
        reason = f"Token {API_KEY} is not allowed to use this feature"
        fake.then(json_response(status, {"success": False, "message": reason}))

        with (
            caplog.at_level(logging.DEBUG, logger="voicegate.upstream"),
            pytest.raises(UpstreamError) as caught,
        ):
            await client.synthesize(SYNTH_PAYLOAD)

        assert (caught.value.status_code, caught.value.detail) == (502, "Resemble upstream error")
        errors = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert errors
        assert errors[0].getMessage() == "upstream_account_error"
        assert "is not allowed to use this feature" in errors[0].reason  # type: ignore[attr-defined]
        assert errors[0].status == status  # type: ignore[attr-defined]
        assert API_KEY not in errors[0].reason  # type: ignore[attr-defined]
        assert API_KEY not in caplog.text
        assert API_KEY not in str(caught.value.detail) + repr(caught.value.extra)
        assert fake.calls == 1


class TestMalformedAnswers:
    @pytest.mark.parametrize(
        "response",
        [
            httpx.Response(200, text="<html>maintenance</html>"),
            httpx.Response(200, text=""),
            httpx.Response(200, json=["not", "an", "object"]),
        ],
    )
    async def test_a_2xx_that_is_not_a_json_object_is_502(
        self, client: ResembleClient, fake: FakeResemble, response: httpx.Response
    ) -> None:
        fake.then(response)

        with pytest.raises(UpstreamError) as caught:
            await client.get_voice("55592656")

        assert (caught.value.status_code, caught.value.detail) == (502, "Resemble upstream error")

    async def test_204_is_an_empty_object(self, client: ResembleClient, fake: FakeResemble) -> None:
        fake.then(httpx.Response(204))

        result = await client.request_json("DELETE", "voices/x", idempotent=True, operation="delete_voice")

        assert result == {}


class TestFromSettings:
    async def test_builds_its_own_pool_with_explicit_timeouts(self) -> None:
        settings = Settings(
            resemble_api_key="rk_from_settings", resemble_connect_timeout_s=2.0, resemble_read_timeout_s=40.0
        )

        client = ResembleClient.from_settings(settings)

        timeout = client._http.timeout
        assert (timeout.connect, timeout.read, timeout.write, timeout.pool) == (2.0, 40.0, 40.0, 2.0)
        await client.aclose()
        assert client._http.is_closed

    async def test_closes_an_injected_pool_too(self) -> None:
        http = httpx.AsyncClient()
        client = ResembleClient.from_settings(Settings(resemble_api_key="rk"), http)

        await client.aclose()

        assert http.is_closed

    def test_refuses_to_build_without_a_key(self) -> None:
        with pytest.raises(ValueError, match="RESEMBLE_API_KEY"):
            ResembleClient.from_settings(Settings(resemble_api_key=None))
