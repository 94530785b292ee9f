"""SSRF guard for every URL the gateway fetches or posts to on a user's behalf (callbacks, media URLs).

`check_public_url` accepts only `http`/`https` URLs with a host and no userinfo, resolves the host, and refuses it
when any resolved address is not public (private, loopback, link-local, multicast, reserved, unspecified,
shared/CGNAT, or an IPv4 address embedded in IPv6 that is one of those). `guarded_request` sends one request
through it: redirects are followed by hand with every hop re-checked, the body is streamed under a byte cap, and the
whole exchange is bounded in time.

Residual risk (DNS rebinding): the check resolves the name, then httpx resolves it again to connect. A hostile DNS
server answering with a short TTL can hand the check a public address and the connection a private one. Closing
that window needs pinning the checked address into the connection (a custom transport) or an egress proxy/firewall
that refuses private ranges; deployments that fetch arbitrary user URLs should also run with such an egress policy.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import anyio
import httpx

from voicegate.errors import GatewayError, PayloadTooLarge, Unprocessable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOWED_SCHEMES = frozenset({"http", "https"})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
DEFAULT_PORTS = {"http": 80, "https": 443}

_SHARED_ADDRESS_SPACE = ipaddress.IPv4Network("100.64.0.0/10")  # RFC 6598 carrier-grade NAT
_NAT64_PREFIX = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052: the last 32 bits are an IPv4 address


class UnsafeUrl(Unprocessable):
    """The URL is not one the gateway will contact (422)."""

    def __init__(self, reason: str, *, field: str = "url") -> None:
        self.reason = reason
        self.field = field
        super().__init__(f"{field} must be a public http(s) URL: {reason}")


class FetchTooLarge(PayloadTooLarge):
    """The response body went past the byte cap; reading stopped there (413)."""

    def __init__(self, max_bytes: int, *, field: str = "url") -> None:
        self.max_bytes = max_bytes
        self.field = field
        super().__init__(f"{field} answered with more than {max_bytes} bytes")


class FetchFailed(GatewayError):
    """The target could not be reached or did not answer in time (502). Not a Resemble failure."""

    status_code = 502
    detail = "Could not reach the URL"

    def __init__(self, reason: str, *, field: str = "url") -> None:
        self.reason = reason
        self.field = field
        super().__init__(f"could not fetch {field}: {reason}")


def non_public_kind(address: IPAddress) -> str | None:
    """Why `address` must not be contacted ("loopback", "private", ...), or None when it is a public address."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return non_public_kind(address.ipv4_mapped)
        if address in _NAT64_PREFIX:
            return non_public_kind(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if address.sixtofour is not None:
            embedded = non_public_kind(address.sixtofour)
            if embedded is not None:
                return embedded
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if isinstance(address, ipaddress.IPv4Address) and address in _SHARED_ADDRESS_SPACE:
        return "shared (CGNAT)"
    if address.is_reserved:
        return "reserved"
    if address.is_private:
        return "private"
    if not address.is_global:
        return "non-public"
    return None


async def resolve_host(host: str, port: int) -> list[str]:
    """Every address `host` resolves to; raises OSError when it does not resolve. Tests replace this function."""
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _parse_ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None


async def check_public_url(url: str, *, allow_private: bool, field: str = "url") -> str:
    """Validate `url` for an outbound request and return it normalised; raises `UnsafeUrl` (422) otherwise.

    `allow_private=True` (trusted networks, tests) skips the address-class check; the URL must still be a
    well-formed http(s) URL whose host resolves.
    """
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise UnsafeUrl("it is not a valid URL", field=field) from exc
    if parsed.scheme not in ALLOWED_SCHEMES:
        raise UnsafeUrl("only http and https are allowed", field=field)
    if not parsed.host:
        raise UnsafeUrl("a host is required", field=field)
    if parsed.userinfo:
        raise UnsafeUrl("credentials in the URL are not allowed", field=field)
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise UnsafeUrl("its port is out of range", field=field)

    host = parsed.raw_host.decode("ascii")
    literal = _parse_ip(parsed.host)
    if literal is not None:
        kind = non_public_kind(literal)
        if kind is not None and not allow_private:
            raise UnsafeUrl(f"{parsed.host} is a {kind} address", field=field)
    else:
        try:
            addresses = await resolve_host(host, parsed.port or DEFAULT_PORTS[parsed.scheme])
        except (OSError, UnicodeError) as exc:
            raise UnsafeUrl("its host could not be resolved", field=field) from exc
        if not addresses:
            raise UnsafeUrl("its host could not be resolved", field=field)
        if not allow_private:
            for text in addresses:
                address = _parse_ip(text)
                kind = "unrecognised" if address is None else non_public_kind(address)
                if kind is not None:
                    raise UnsafeUrl(f"it resolves to a {kind} address", field=field)
    return str(parsed.copy_with(fragment=None))


def _redirect_target(response: httpx.Response) -> httpx.URL | None:
    if response.status_code not in REDIRECT_STATUSES:
        return None
    location = response.headers.get("location")
    if not location:
        return None
    try:
        return response.url.join(location)
    except httpx.InvalidURL:
        return None


def _same_origin(a: httpx.URL, b: httpx.URL) -> bool:
    return (a.scheme, a.host, a.port or DEFAULT_PORTS.get(a.scheme)) == (
        b.scheme,
        b.host,
        b.port or DEFAULT_PORTS.get(b.scheme),
    )


def _redirect_request_args(status: int, method: str, kwargs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The method and arguments for the next hop, following the rules browsers and httpx apply."""
    follow = dict(kwargs)
    follow.pop("params", None)  # already part of the URL that redirected
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
        method = "GET"
        for body_arg in ("content", "data", "files", "json"):
            follow.pop(body_arg, None)
        if follow.get("headers") is not None:
            headers = httpx.Headers(follow["headers"])
            for name in ("content-type", "content-length", "transfer-encoding"):
                headers.pop(name, None)
            follow["headers"] = headers
    return method, follow


async def _read_capped(response: httpx.Response, max_bytes: int | None, *, truncate: bool, field: str) -> bytes:
    declared = response.headers.get("content-length", "")
    if max_bytes is not None and not truncate and declared.isdigit() and int(declared) > max_bytes:
        raise FetchTooLarge(max_bytes, field=field)
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if max_bytes is not None and len(body) > max_bytes:
            if truncate:
                return bytes(body[:max_bytes])
            raise FetchTooLarge(max_bytes, field=field)
    return bytes(body)


async def guarded_request(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    allow_private: bool,
    max_bytes: int | None,
    timeout_s: float,
    max_redirects: int = 3,
    raise_for_status: bool = True,
    truncate: bool = False,
    field: str = "url",
    **kwargs: Any,
) -> tuple[httpx.Response, bytes]:
    """Send one request to a user-supplied URL behind the SSRF guard; returns the closed response and its body.

    - Every URL, the first and each redirect target, goes through `check_public_url` (`UnsafeUrl`, 422).
    - Up to `max_redirects` redirects are followed by hand (303, and 301/302 after a POST, become a GET without a
      body; `Authorization` and `Cookie` are dropped when the origin changes).
    - With `raise_for_status` (the default) a final answer outside 2xx, including a redirect past
      `max_redirects`, raises `FetchFailed` (502); without it that response is returned for the caller to judge.
    - The body is streamed and reading stops past `max_bytes` (None = no cap): `FetchTooLarge` (413), or with
      `truncate=True` the first `max_bytes` bytes are returned instead.
    - Resolution, connection, every hop and the body together take at most `timeout_s`; a timeout or a
      transport error raises `FetchFailed` (502).
    - `kwargs` go to `client.build_request` (headers, content, json, params, ...).

    See the module docstring for the DNS-rebinding window that remains between the check and the connection.
    """
    try:
        with anyio.fail_after(timeout_s):
            return await _guarded_request(
                client,
                method.upper(),
                url,
                allow_private=allow_private,
                max_bytes=max_bytes,
                timeout_s=timeout_s,
                max_redirects=max_redirects,
                raise_for_status=raise_for_status,
                truncate=truncate,
                field=field,
                kwargs=kwargs,
            )
    except TimeoutError as exc:
        raise FetchFailed(f"no complete answer within {timeout_s:g} s", field=field) from exc


async def _guarded_request(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    allow_private: bool,
    max_bytes: int | None,
    timeout_s: float,
    max_redirects: int,
    raise_for_status: bool,
    truncate: bool,
    field: str,
    kwargs: dict[str, Any],
) -> tuple[httpx.Response, bytes]:
    target = httpx.URL(await check_public_url(url, allow_private=allow_private, field=field))
    kwargs.setdefault("timeout", timeout_s)
    redirects = 0
    while True:
        request = client.build_request(method, target, **kwargs)
        try:
            response = await client.send(request, stream=True, follow_redirects=False)
        except httpx.TimeoutException as exc:
            raise FetchFailed(f"no complete answer within {timeout_s:g} s", field=field) from exc
        except httpx.HTTPError as exc:
            raise FetchFailed(f"connection failed ({type(exc).__name__})", field=field) from exc
        try:
            next_url = _redirect_target(response)
            if next_url is None or redirects >= max_redirects:
                if raise_for_status and next_url is not None:
                    raise FetchFailed(f"more than {max_redirects} redirects", field=field)
                if raise_for_status and not response.is_success:
                    raise FetchFailed(f"it answered HTTP {response.status_code}", field=field)
                try:
                    body = await _read_capped(response, max_bytes, truncate=truncate, field=field)
                except httpx.HTTPError as exc:
                    raise FetchFailed(f"reading the answer failed ({type(exc).__name__})", field=field) from exc
                return response, body
        finally:
            await response.aclose()
        redirects += 1
        checked = httpx.URL(await check_public_url(str(next_url), allow_private=allow_private, field=field))
        method, kwargs = _redirect_request_args(response.status_code, method, kwargs)
        if not _same_origin(target, checked) and kwargs.get("headers") is not None:
            headers = httpx.Headers(kwargs["headers"])
            headers.pop("authorization", None)
            headers.pop("cookie", None)
            kwargs["headers"] = headers
        target = checked
