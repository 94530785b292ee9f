"""`ResembleClient`: the one door to Resemble, with auth, retries, breaker, error mapping and metrics."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import httpx
import orjson
import structlog

from voicegate.config import Settings
from voicegate.kit.capability import current_capability
from voicegate.kit.ids import new_id
from voicegate.kit.tls import verified_context
from voicegate.metrics import upstream_latency, upstream_requests
from voicegate.upstream.breaker import CircuitBreaker
from voicegate.upstream.errors import (
    MalformedResponse,
    MediaTooLarge,
    counts_as_outage,
    map_upstream_errors,
)
from voicegate.upstream.retry import RetryPolicy

log = logging.getLogger("voicegate.upstream")

JSONObject = dict[str, Any]
Sleep = Callable[[float], Awaitable[None]]
QueryParams = Mapping[str, str | int | float | bool]
# Bytes, not file objects, so a retried attempt can send the same content again.
Files = Mapping[str, tuple[str, bytes, str]]


def build_http_client(settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """The pooled `httpx.AsyncClient` for Resemble, with explicit timeouts; `transport` swaps upstream."""
    timeout = httpx.Timeout(
        connect=settings.resemble_connect_timeout_s,
        read=settings.resemble_read_timeout_s,
        write=settings.resemble_read_timeout_s,
        pool=settings.resemble_connect_timeout_s,
    )
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=30.0)
    return httpx.AsyncClient(timeout=timeout, limits=limits, transport=transport, verify=verified_context())


class ResembleClient:
    """Calls Resemble over an injected, pooled `httpx.AsyncClient`.

    Every method returns the parsed JSON object or raises a `GatewayError` (see `upstream.errors`); callers
    own the shapes. The client owns the pool it is given: `aclose()` closes it. One `CircuitBreaker`
    (`client.breaker`) covers all operations, which share one upstream account.

    `with_key(api_key)` gives a client for another account (a user's own key) over the same pool, with its own
    breaker and the own-key error mapping (`upstream.errors`); it does not own the pool.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        api_key: str,
        base_url: str,
        synth_url: str,
        billing_url: str | None = None,
        max_retries: int = 2,
        max_retry_wait_s: float = 10.0,
        breaker_failures: int = 5,
        breaker_reset_s: float = 30.0,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        own_key: bool = False,
    ) -> None:
        self._http = http
        self._owns_http = not own_key
        self._own_key = own_key
        self._api_key = api_key
        self._base_url = base_url.rstrip("/")
        self._synth_url = synth_url.rstrip("/")
        self.billing_url = (billing_url or base_url).rstrip("/")
        self._api_origins = frozenset(_origin(httpx.URL(url)) for url in (base_url, synth_url, self.billing_url))
        self._retry = RetryPolicy(max_retries=max_retries, max_total_wait_s=max_retry_wait_s)
        self._sleep = sleep
        self._clock = clock
        self.breaker = CircuitBreaker(
            breaker_failures, breaker_reset_s, is_failure=counts_as_outage, clock=clock, publishes=not own_key
        )

    @classmethod
    def from_settings(
        cls, settings: Settings, http: httpx.AsyncClient | None = None, *, api_key: str | None = None
    ) -> Self:
        """Build from `Settings`; without `http`, a pool from `build_http_client`. Either way the client owns
        the pool and `aclose()` closes it. `api_key` overrides the setting (e.g. for the simulator)."""
        key = api_key or (settings.resemble_api_key.get_secret_value() if settings.resemble_api_key else "")
        if not key:
            raise ValueError("RESEMBLE_API_KEY is not set; pass api_key= when wiring the simulator")
        return cls(
            http or build_http_client(settings),
            api_key=key,
            base_url=settings.resemble_base_url,
            synth_url=settings.resemble_synth_url,
            billing_url=settings.resemble_billing_base_url,
            max_retries=settings.resemble_max_retries,
            breaker_failures=settings.resemble_breaker_failures,
            breaker_reset_s=settings.resemble_breaker_reset_s,
        )

    def with_key(self, api_key: str) -> ResembleClient:
        """A client for the account behind `api_key` (a user's own key): same hosts, retries and pool, its own
        circuit breaker, and Resemble's account errors mapped as the user's (see `upstream.errors`)."""
        return ResembleClient(
            self._http,
            api_key=api_key,
            base_url=self._base_url,
            synth_url=self._synth_url,
            billing_url=self.billing_url,
            max_retries=self._retry.max_retries,
            max_retry_wait_s=self._retry.max_total_wait_s,
            breaker_failures=self.breaker.failure_threshold,
            breaker_reset_s=self.breaker.reset_timeout_s,
            sleep=self._sleep,
            clock=self._clock,
            own_key=True,
        )

    @property
    def own_key(self) -> bool:
        """Whether this client calls with a user's own key rather than the gateway's."""
        return self._own_key

    async def aclose(self) -> None:
        """Close the `httpx.AsyncClient` this client was given (the app calls it once, at shutdown); a client from
        `with_key` shares its parent's pool and leaves it open."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def synthesize(self, payload: Mapping[str, Any]) -> JSONObject:
        """`POST {synth_url}/synthesize` with a Resemble-shaped payload (`voice_uuid`, `data`, ...).

        Synthesis is billed, so it is never retried once the request may have reached Resemble: no retry on
        5xx, timeouts or a dropped connection. It is retried only when Resemble provably did no work: on 429
        (honouring `Retry-After`) and on `httpx.ConnectError` / `ConnectTimeout` / `PoolTimeout`, which mean
        the request never left the gateway.
        """
        body = dict(payload)
        rate = body.get("sample_rate")
        if isinstance(rate, int) and not isinstance(rate, bool):
            body["sample_rate"] = str(rate)  # Resemble's enum is of strings: "22050", not 22050
        return await self.request_json(
            "POST", f"{self._synth_url}/synthesize", json=body, idempotent=False, operation="synthesize"
        )

    async def stream_synthesis(self, payload: Mapping[str, Any]) -> AsyncGenerator[bytes, None]:
        """`POST {synth_url}/stream`: the chunked WAV (a PCM header, then samples) as Resemble produces it.

        The first `__anext__()` sends the request and checks the answer, through the breaker and with the errors
        of every other call (`UpstreamFault` for a 5xx, `UpstreamRejected` for a 400, ...), so a caller can
        fail cleanly before it sends a byte of its own. Never retried once sent, like `synthesize`. A failure
        mid-body raises `UpstreamFault` from the iteration. Close the iterator (`aclose()`) when done with it.
        """
        body = dict(payload)
        rate = body.get("sample_rate")
        if isinstance(rate, int) and not isinstance(rate, bool):
            body["sample_rate"] = str(rate)
        response = await self._open_stream(f"{self._synth_url}/stream", body)
        try:
            with map_upstream_errors("stream_synthesis", secrets=(self._api_key,)):
                async for chunk in response.aiter_bytes():
                    if chunk:
                        yield chunk
        finally:
            await response.aclose()

    async def _open_stream(self, url: str, body: JSONObject) -> httpx.Response:
        def build() -> httpx.Request:
            return self._http.build_request(
                "POST", url, json=body, headers=self._headers_for(url, accept="application/octet-stream")
            )

        with _upstream_request_id():
            async with self.breaker.guard():
                with map_upstream_errors("stream_synthesis", secrets=(self._api_key,)):
                    return await self._send(build, idempotent=False, operation="stream_synthesis", stream=True)

    async def list_voices(self, page: int, page_size: int) -> JSONObject:
        return await self.request_json(
            "GET",
            "voices",
            params={"page": page, "page_size": page_size},
            idempotent=True,
            operation="list_voices",
        )

    async def get_voice(self, uuid: str) -> JSONObject:
        return await self.request_json("GET", f"voices/{_segment(uuid)}", idempotent=True, operation="get_voice")

    async def request_json(
        self,
        method: str,
        url_or_path: str,
        *,
        json: Any = None,
        params: QueryParams | None = None,
        data: Mapping[str, Any] | None = None,
        files: Files | None = None,
        idempotent: bool,
        operation: str,
    ) -> JSONObject:
        """One logical call to a path (joined to `base_url`) or absolute URL, via the breaker, with retries.

        `operation` names the call in metrics and logs; `idempotent` allows retries after the request may have
        been executed (5xx, timeouts, dropped connections).
        """
        url = self._resolve(url_or_path)

        def build() -> httpx.Request:
            return self._http.build_request(
                method, url, json=json, params=params, data=data, files=files, headers=self._headers_for(url)
            )

        with _upstream_request_id():
            async with self.breaker.guard():
                with map_upstream_errors(operation, secrets=(self._api_key,), own_key=self._own_key):
                    response = await self._send(build, idempotent=idempotent, operation=operation)
                    return _json_object(response)

    async def download(self, url: str, max_bytes: int, *, operation: str = "download") -> bytes:
        """GET result media from an absolute (often signed) URL; `MediaTooLarge` past `max_bytes`.

        Our key goes only to Resemble's API origins, never to a storage host. Redirects are followed; httpx
        itself drops `Authorization` when a redirect leaves the origin. Downloads bypass the circuit breaker:
        a storage host failing says nothing about the API.
        """

        def build() -> httpx.Request:
            return self._http.build_request("GET", url, headers=self._headers_for(url, accept="*/*"))

        with _upstream_request_id(), map_upstream_errors(operation, secrets=(self._api_key,), own_key=self._own_key):
            response = await self._send(build, idempotent=True, operation=operation, stream=True, follow_redirects=True)
            try:
                return await _read_capped(response, max_bytes)
            finally:
                await response.aclose()

    async def _send(
        self,
        build: Callable[[], httpx.Request],
        *,
        idempotent: bool,
        operation: str,
        stream: bool = False,
        follow_redirects: bool = False,
    ) -> httpx.Response:
        """Send with retries; return the first 2xx, else raise the last error (non-2xx as HTTPStatusError)."""
        attempt, waited = 0, 0.0
        while True:
            try:
                response = await self._attempt(build(), operation, attempt, stream, follow_redirects)
            except httpx.TransportError as exc:
                delay = self._retry.delay_after_error(exc, idempotent=idempotent, attempt=attempt, waited_s=waited)
                if delay is None:
                    raise
            else:
                if response.is_success:
                    return response
                delay = self._retry.delay_after_response(
                    response, idempotent=idempotent, attempt=attempt, waited_s=waited
                )
                if delay is None:
                    raise httpx.HTTPStatusError(
                        f"Resemble answered {response.status_code}",
                        request=response.request,
                        response=response,
                    )
            log.debug("upstream_retry", extra={"operation": operation, "attempt": attempt, "delay_s": round(delay, 2)})
            await self._sleep(delay)
            waited += delay
            attempt += 1

    async def _attempt(
        self, request: httpx.Request, operation: str, attempt: int, stream: bool, follow_redirects: bool
    ) -> httpx.Response:
        """One HTTP exchange, counted and timed whatever its fate."""
        started = time.perf_counter()
        outcome, status = "aborted", None
        try:
            response = await self._http.send(request, stream=stream, follow_redirects=follow_redirects)
            status = response.status_code
            if stream and not response.is_success:
                await response.aread()  # error bodies are small, and the error mapper reads them
            outcome = _outcome(status)
            return response
        except httpx.TimeoutException:
            outcome = "timeout"
            raise
        except httpx.ConnectError:
            outcome = "connect_error"
            raise
        except httpx.HTTPError:
            outcome = "transport_error"
            raise
        finally:
            latency = time.perf_counter() - started
            upstream_requests.labels(operation=operation, outcome=outcome).inc()
            upstream_latency.labels(operation=operation, capability=current_capability()).observe(latency)
            log.debug(
                "upstream_call",
                extra={
                    "operation": operation,
                    "attempt": attempt,
                    "status": status,
                    "outcome": outcome,
                    "latency_ms": round(latency * 1000, 1),
                },
            )

    def _resolve(self, url_or_path: str) -> str:
        if httpx.URL(url_or_path).is_absolute_url:
            return url_or_path
        return f"{self._base_url}/{url_or_path.lstrip('/')}"

    def _headers_for(self, url: str, *, accept: str = "application/json") -> dict[str, str]:
        headers = {"Accept": accept}
        if _origin(httpx.URL(url)) in self._api_origins:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers


def _upstream_request_id() -> contextlib.AbstractContextManager[None]:
    """Name one logical call to Resemble (its retries included) on every line logged during it.

    Resemble's answers carry no request id of their own (none is documented), so the gateway makes one.
    """
    return structlog.contextvars.bound_contextvars(upstream_request_id=new_id())


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    default_port = {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host, url.port or default_port


def _segment(value: str) -> str:
    return quote(value, safe="")


def _outcome(status: int) -> str:
    if 200 <= status < 300:
        return "success"
    if status == 429:
        return "throttled"
    if status in (401, 402, 403):
        return "account_error"
    if 400 <= status < 500:
        return "rejected"
    return "server_error" if status >= 500 else "unexpected"


def _json_object(response: httpx.Response) -> JSONObject:
    if response.status_code == 204:
        return {}
    try:
        body = orjson.loads(response.content)  # synthesis answers are ~1 MB of base64: the fast parser matters
    except orjson.JSONDecodeError as exc:
        raise MalformedResponse(f"status {response.status_code}, body is not JSON") from exc
    if not isinstance(body, dict):
        raise MalformedResponse(f"status {response.status_code}, body is a JSON {type(body).__name__}")
    return body


async def _read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise MediaTooLarge()
    chunks: list[bytes] = []
    received = 0
    async for chunk in response.aiter_bytes():  # decoded bytes, so a compressed bomb is capped too
        received += len(chunk)
        if received > max_bytes:
            raise MediaTooLarge()
        chunks.append(chunk)
    return b"".join(chunks)
