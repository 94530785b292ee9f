"""The SSRF guard: URL rules, address classes, redirects re-checked hop by hop, size and time caps.

Names resolve through a fake table (this machine has no outside network); the few cases that exercise the real
resolver use names and numbers it answers locally (`localhost`, numeric IPv4 spellings).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from voicegate.errors import GatewayError
from voicegate.kit import netguard
from voicegate.kit.netguard import FetchFailed, FetchTooLarge, UnsafeUrl, check_public_url, guarded_request

PUBLIC_V4 = "93.184.216.34"
PUBLIC_V6 = "2606:2800:220:1:248:1893:25c8:1946"
FAKE_DNS = {
    "example.com": [PUBLIC_V4],
    "cdn.example.net": [PUBLIC_V4, PUBLIC_V6],
    "intranet.example.com": ["10.1.2.3"],
    "mixed.example.com": [PUBLIC_V4, "127.0.0.1"],
    "metadata.example.com": ["169.254.169.254"],
    "cgnat.example.com": ["100.64.0.7"],
    "ula.example.com": ["fd12:3456::1"],
    "mapped.example.com": ["::ffff:10.0.0.1"],
}


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Resolve from FAKE_DNS; anything else does not exist. Returns the names looked up."""
    looked_up: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        looked_up.append(host)
        if host not in FAKE_DNS:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return FAKE_DNS[host]

    monkeypatch.setattr(netguard, "resolve_host", resolve)
    return looked_up


class TestCheckPublicUrl:
    @pytest.mark.parametrize(
        ("url", "normalised"),
        [
            ("https://example.com/hook", "https://example.com/hook"),
            ("http://example.com:8080/x?y=1", "http://example.com:8080/x?y=1"),
            ("HTTPS://EXAMPLE.com/Path#fragment", "https://example.com/Path"),
            ("https://cdn.example.net/a.wav", "https://cdn.example.net/a.wav"),
            (f"http://{PUBLIC_V4}/", f"http://{PUBLIC_V4}/"),
            (f"http://[{PUBLIC_V6}]:8443/", f"http://[{PUBLIC_V6}]:8443/"),
            ("http://[::ffff:93.184.216.34]/", "http://[::ffff:93.184.216.34]/"),
        ],
    )
    async def test_public_urls_pass_normalised(self, fake_dns: list[str], url: str, normalised: str) -> None:
        assert await check_public_url(url, allow_private=False) == normalised

    @pytest.mark.parametrize(
        ("url", "reason"),
        [
            ("ftp://example.com/file", "only http and https"),
            ("file:///etc/passwd", "only http and https"),
            ("gopher://example.com/", "only http and https"),
            ("javascript:alert(1)", "only http and https"),
            ("example.com/hook", "only http and https"),
            ("http:///no-host", "a host is required"),
            ("https:example.com", "a host is required"),
            ("https://user:pass@example.com/", "credentials"),
            ("https://token@example.com/", "credentials"),
            ("http://example.com:99999/", "port is out of range"),
            ("http://127.0.0.1/", "127.0.0.1 is a loopback address"),
            ("http://127.8.9.10:8080/", "loopback"),
            ("http://10.0.0.1/", "private"),
            ("http://172.16.5.4/", "private"),
            ("http://192.168.1.1/", "private"),
            ("http://169.254.169.254/latest/meta-data", "link-local"),
            ("http://100.64.1.1/", "shared (CGNAT)"),
            ("http://100.127.255.254/", "shared (CGNAT)"),
            ("http://0.0.0.0/", "unspecified"),
            ("http://224.0.0.1/", "multicast"),
            ("http://240.0.0.1/", "reserved"),
            ("http://192.0.2.10/", "private"),  # documentation range: not global
            ("http://[::1]/", "loopback"),
            ("http://[::]/", "unspecified"),
            ("http://[fd00::1]/", "private"),  # unique local
            ("http://[fc00::5]/", "private"),
            ("http://[fe80::1]/", "link-local"),
            ("http://[fe80::1%25eth0]/", "link-local"),
            ("http://[ff02::1]/", "multicast"),
            ("http://[::ffff:127.0.0.1]/", "loopback"),  # IPv4-mapped
            ("http://[::ffff:169.254.169.254]/", "link-local"),
            ("http://[::ffff:a00:1]/", "private"),
            ("http://[64:ff9b::a00:1]/", "private"),  # NAT64 of 10.0.0.1
            ("http://[2002:7f00:1::]/", "loopback"),  # 6to4 of 127.0.0.1
            ("http://intranet.example.com/", "resolves to a private address"),
            ("http://mixed.example.com/", "resolves to a loopback address"),
            ("http://metadata.example.com/", "resolves to a link-local address"),
            ("http://cgnat.example.com/", "resolves to a shared (CGNAT) address"),
            ("http://ula.example.com/", "resolves to a private address"),
            ("http://mapped.example.com/", "resolves to a private address"),
            ("http://does-not-exist.example.com/", "could not be resolved"),
        ],
    )
    async def test_refused(self, fake_dns: list[str], url: str, reason: str) -> None:
        with pytest.raises(UnsafeUrl) as caught:
            await check_public_url(url, allow_private=False)

        assert reason in caught.value.detail
        assert caught.value.status_code == 422

    @pytest.mark.parametrize(
        "url", ["http://localhost/", "http://localhost:8080/x", "http://2130706433/", "http://127.1/", "http://0x7f.1/"]
    )
    async def test_names_and_spellings_the_real_resolver_maps_to_loopback(self, url: str) -> None:
        with pytest.raises(UnsafeUrl, match="resolves to a loopback address"):
            await check_public_url(url, allow_private=False)

    async def test_detail_names_the_field(self, fake_dns: list[str]) -> None:
        with pytest.raises(UnsafeUrl) as caught:
            await check_public_url("http://intranet.example.com/cb", allow_private=False, field="callback_uri")

        assert caught.value.detail == "callback_uri must be a public http(s) URL: it resolves to a private address"
        assert isinstance(caught.value, GatewayError)

    @pytest.mark.parametrize(
        "url", ["http://127.0.0.1:9/hook", "http://[::1]/", "http://10.0.0.1/", "http://intranet.example.com/"]
    )
    async def test_allow_private_lets_private_addresses_through(self, fake_dns: list[str], url: str) -> None:
        assert await check_public_url(url, allow_private=True) == url

    async def test_allow_private_with_the_real_resolver(self) -> None:
        assert await check_public_url("http://localhost:8080/x", allow_private=True) == "http://localhost:8080/x"

    @pytest.mark.parametrize(
        ("url", "reason"),
        [
            ("file:///etc/passwd", "only http and https"),
            ("http://user:pw@127.0.0.1/", "credentials"),
            ("http://nowhere.example.com/", "could not be resolved"),
        ],
    )
    async def test_allow_private_keeps_the_other_rules(self, fake_dns: list[str], url: str, reason: str) -> None:
        with pytest.raises(UnsafeUrl, match=reason):
            await check_public_url(url, allow_private=True)


Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """An httpx.MockTransport handler that answers from a per-URL table and records what it was asked."""

    def __init__(self, routes: dict[str, Callable[[httpx.Request], httpx.Response]]) -> None:
        self.routes = routes
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.routes[str(request.url)](request)

    @property
    def urls(self) -> list[str]:
        return [str(request.url) for request in self.requests]


def answer(status: int = 200, content: bytes = b"ok", headers: dict[str, str] | None = None) -> Handler:
    return lambda _: httpx.Response(status, content=content, headers=headers)


def redirect(location: str, status: int = 302) -> Handler:
    return lambda _: httpx.Response(status, headers={"location": location})


@pytest.fixture
async def mock_client() -> AsyncIterator[Callable[[Recorder], httpx.AsyncClient]]:
    clients: list[httpx.AsyncClient] = []

    def make(recorder: Recorder) -> httpx.AsyncClient:
        client = httpx.AsyncClient(transport=httpx.MockTransport(recorder))
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


MakeClient = Callable[[Recorder], httpx.AsyncClient]


async def fetch(client: httpx.AsyncClient, url: str, **kwargs: object) -> tuple[httpx.Response, bytes]:
    options: dict[str, object] = {"allow_private": False, "max_bytes": 1024, "timeout_s": 5.0}
    options.update(kwargs)
    return await guarded_request(client, str(options.pop("method", "GET")), url, **options)  # type: ignore[arg-type]


class TestGuardedRequest:
    async def test_fetches_a_public_url(self, fake_dns: list[str], mock_client: MakeClient) -> None:
        recorder = Recorder({"https://example.com/a.wav": answer(content=b"RIFF")})

        response, body = await fetch(mock_client(recorder), "https://example.com/a.wav")

        assert (response.status_code, body) == (200, b"RIFF")
        assert recorder.urls == ["https://example.com/a.wav"]

    async def test_refuses_before_sending(self, fake_dns: list[str], mock_client: MakeClient) -> None:
        recorder = Recorder({})

        with pytest.raises(UnsafeUrl):
            await fetch(mock_client(recorder), "http://intranet.example.com/")

        assert recorder.requests == []

    async def test_follows_public_redirects(self, fake_dns: list[str], mock_client: MakeClient) -> None:
        recorder = Recorder(
            {
                "https://example.com/a": redirect("/b", 301),
                "https://example.com/b": redirect("https://cdn.example.net/c", 307),
                "https://cdn.example.net/c": answer(content=b"final"),
            }
        )

        response, body = await fetch(mock_client(recorder), "https://example.com/a")

        assert body == b"final"
        assert str(response.url) == "https://cdn.example.net/c"
        assert recorder.urls == ["https://example.com/a", "https://example.com/b", "https://cdn.example.net/c"]

    @pytest.mark.parametrize(
        "location",
        [
            "http://127.0.0.1/admin",
            "http://10.0.0.1/",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::1]:8080/",
            "http://intranet.example.com/",
            "http://metadata.example.com/",
            "file:///etc/passwd",
        ],
    )
    async def test_a_redirect_to_a_private_target_is_refused(
        self, fake_dns: list[str], mock_client: MakeClient, location: str
    ) -> None:
        recorder = Recorder({"https://example.com/a": redirect(location)})

        with pytest.raises(UnsafeUrl):
            await fetch(mock_client(recorder), "https://example.com/a")

        assert recorder.urls == ["https://example.com/a"]

    async def test_too_many_redirects(self, fake_dns: list[str], mock_client: MakeClient) -> None:
        recorder = Recorder({f"https://example.com/{i}": redirect(f"/{i + 1}") for i in range(10)})

        with pytest.raises(FetchFailed, match="more than 2 redirects") as caught:
            await fetch(mock_client(recorder), "https://example.com/0", max_redirects=2)

        assert caught.value.status_code == 502
        assert len(recorder.requests) == 3

    async def test_without_redirects_the_redirect_is_the_answer(
        self, fake_dns: list[str], mock_client: MakeClient
    ) -> None:
        recorder = Recorder({"https://example.com/0": redirect("http://10.0.0.1/")})

        response, _ = await fetch(
            mock_client(recorder), "https://example.com/0", max_redirects=0, raise_for_status=False
        )

        assert response.status_code == 302
        assert recorder.urls == ["https://example.com/0"]

    async def test_see_other_after_post_becomes_a_get_without_body(
        self, fake_dns: list[str], mock_client: MakeClient
    ) -> None:
        recorder = Recorder({"https://example.com/form": redirect("/done", 303), "https://example.com/done": answer()})

        await fetch(
            mock_client(recorder),
            "https://example.com/form",
            method="POST",
            content=b'{"a":1}',
            headers={"content-type": "application/json"},
        )

        second = recorder.requests[1]
        assert (second.method, second.content) == ("GET", b"")
        assert "content-type" not in second.headers

    async def test_authorization_is_dropped_across_origins(self, fake_dns: list[str], mock_client: MakeClient) -> None:
        recorder = Recorder(
            {
                "https://example.com/a": redirect("/b"),
                "https://example.com/b": redirect("https://cdn.example.net/c"),
                "https://cdn.example.net/c": answer(),
            }
        )

        await fetch(mock_client(recorder), "https://example.com/a", headers={"authorization": "Bearer t"})

        assert [r.headers.get("authorization") for r in recorder.requests] == ["Bearer t", "Bearer t", None]

    async def test_an_error_status_fails_unless_asked_not_to(
        self, fake_dns: list[str], mock_client: MakeClient
    ) -> None:
        recorder = Recorder({"https://example.com/missing": answer(404, b"nope")})
        client = mock_client(recorder)

        with pytest.raises(FetchFailed, match="answered HTTP 404"):
            await fetch(client, "https://example.com/missing")
        response, body = await fetch(client, "https://example.com/missing", raise_for_status=False)

        assert (response.status_code, body) == (404, b"nope")

    async def test_a_declared_length_past_the_cap(self, fake_dns: list[str], mock_client: MakeClient) -> None:
        recorder = Recorder({"https://example.com/big": answer(content=b"x" * 2048)})

        with pytest.raises(FetchTooLarge) as caught:
            await fetch(mock_client(recorder), "https://example.com/big", max_bytes=1024, field="media_url")

        assert caught.value.status_code == 413
        assert caught.value.detail == "media_url answered with more than 1024 bytes"

    async def test_a_stream_growing_past_the_cap_is_cut_off(self, fake_dns: list[str], mock_client: MakeClient) -> None:
        produced: list[int] = []

        async def endless() -> AsyncIterator[bytes]:
            for index in range(1000):
                produced.append(index)
                yield b"x" * 512

        recorder = Recorder({"https://example.com/stream": lambda _: httpx.Response(200, content=endless())})

        with pytest.raises(FetchTooLarge):
            await fetch(mock_client(recorder), "https://example.com/stream", max_bytes=1024)

        assert len(produced) <= 4

    async def test_truncate_keeps_the_first_bytes(self, fake_dns: list[str], mock_client: MakeClient) -> None:
        recorder = Recorder({"https://example.com/big": answer(content=b"0123456789" * 100)})

        _, body = await fetch(mock_client(recorder), "https://example.com/big", max_bytes=15, truncate=True)

        assert body == b"012345678901234"

    async def test_no_cap(self, fake_dns: list[str], mock_client: MakeClient) -> None:
        recorder = Recorder({"https://example.com/big": answer(content=b"x" * 100_000)})

        _, body = await fetch(mock_client(recorder), "https://example.com/big", max_bytes=None)

        assert len(body) == 100_000

    async def test_a_transport_error_is_a_fetch_failure(self, fake_dns: list[str], mock_client: MakeClient) -> None:
        def refuse(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("connection refused", request=request)

        with pytest.raises(FetchFailed, match="connection failed") as caught:
            await fetch(mock_client(Recorder({"https://example.com/": refuse})), "https://example.com/")

        assert caught.value.status_code == 502

    async def test_the_whole_exchange_is_time_bounded(self, fake_dns: list[str]) -> None:
        async def slow(request: httpx.Request) -> httpx.Response:
            await asyncio.sleep(30)
            return httpx.Response(200)

        loop = asyncio.get_running_loop()
        started = loop.time()
        async with httpx.AsyncClient(transport=httpx.MockTransport(slow)) as client:
            with pytest.raises(FetchFailed, match=r"within 0\.2 s"):
                await fetch(client, "https://example.com/", timeout_s=0.2)

        assert loop.time() - started < 5


class TestAgainstARealSocket:
    """A tiny HTTP server on 127.0.0.1: the real transport, the real resolver, and nothing mocked."""

    @pytest.fixture
    async def server(self) -> AsyncIterator[tuple[str, list[bytes]]]:
        received: list[bytes] = []

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            received.append(await reader.readuntil(b"\r\n\r\n"))
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello")
            await writer.drain()
            writer.close()
            await writer.wait_closed()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            yield f"http://127.0.0.1:{port}/media", received
            server.close()
            await server.wait_closed()

    async def test_allow_private_reaches_it(self, server: tuple[str, list[bytes]]) -> None:
        url, received = server
        async with httpx.AsyncClient() as client:
            response, body = await fetch(client, url, allow_private=True)

        assert (response.status_code, body) == (200, b"hello")
        assert received[0].startswith(b"GET /media HTTP/1.1")

    async def test_otherwise_it_is_never_contacted(self, server: tuple[str, list[bytes]]) -> None:
        url, received = server
        async with httpx.AsyncClient() as client:
            with pytest.raises(UnsafeUrl):
                await fetch(client, url.replace("127.0.0.1", "localhost"))

        assert received == []
