from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from voicegate.errors import UpstreamRejected
from voicegate.upstream import MediaTooLarge, ResembleClient

from .fakes import API_KEY, BASE_URL, FakeResemble

SIGNED_URL = "https://storage.example.com/clips/abc.wav?X-Amz-Signature=deadbeef"


class TestDownload:
    async def test_a_foreign_host_never_gets_our_key(self, client: ResembleClient, fake: FakeResemble) -> None:
        fake.then(httpx.Response(200, content=b"RIFF....WAVE"))

        assert await client.download(SIGNED_URL, max_bytes=1024) == b"RIFF....WAVE"

        request = fake.requests[0]
        assert str(request.url) == SIGNED_URL
        assert "Authorization" not in request.headers

    async def test_the_api_host_gets_our_key(self, client: ResembleClient, fake: FakeResemble) -> None:
        fake.then(httpx.Response(200, content=b"data"))

        await client.download(f"{BASE_URL}/clips/abc/audio", max_bytes=1024)

        assert fake.requests[0].headers["Authorization"] == f"Bearer {API_KEY}"

    async def test_a_redirect_to_storage_drops_the_key(self, client: ResembleClient, fake: FakeResemble) -> None:
        fake.then(httpx.Response(302, headers={"Location": SIGNED_URL}), httpx.Response(200, content=b"audio"))

        assert await client.download(f"{BASE_URL}/clips/abc/audio", max_bytes=1024) == b"audio"

        assert "Authorization" not in fake.requests[1].headers

    async def test_aborts_on_a_declared_length_past_the_limit(self, client: ResembleClient, fake: FakeResemble) -> None:
        fake.then(httpx.Response(200, content=b"x" * 2048))

        with pytest.raises(MediaTooLarge) as caught:
            await client.download(SIGNED_URL, max_bytes=1024)

        assert caught.value.status_code == 502

    async def test_aborts_a_stream_that_grows_past_the_limit(self, client: ResembleClient, fake: FakeResemble) -> None:
        consumed: list[int] = []

        async def body() -> AsyncIterator[bytes]:
            for index in range(100):
                consumed.append(index)
                yield b"x" * 512

        fake.then(httpx.Response(200, content=body()))

        with pytest.raises(MediaTooLarge):
            await client.download(SIGNED_URL, max_bytes=1024)

        assert len(consumed) < 10

    async def test_an_expired_link_is_passed_through_as_not_found(
        self, client: ResembleClient, fake: FakeResemble
    ) -> None:
        fake.then(httpx.Response(404, text="<Error>NoSuchKey</Error>"))

        with pytest.raises(UpstreamRejected) as caught:
            await client.download(SIGNED_URL, max_bytes=1024)

        assert caught.value.status_code == 404

    async def test_a_5xx_is_retried(self, client: ResembleClient, fake: FakeResemble) -> None:
        fake.then(httpx.Response(503), httpx.Response(200, content=b"audio"))

        assert await client.download(SIGNED_URL, max_bytes=1024) == b"audio"
        assert fake.calls == 2
