from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.resemble.uploads.support import BOUNDARY, field, file, multipart
from voicegate.errors import PayloadTooLarge, Unprocessable
from voicegate.resemble.uploads.multipart import MultipartReader, boundary_of

CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


async def pieces(body: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


async def read_all(reader: MultipartReader) -> list[tuple[str, str | None, bytes]]:
    parts = []
    async for part in reader:
        parts.append((part.name, part.filename, b"".join([chunk async for chunk in part.chunks()])))
    return parts


class TestMultipartReader:
    @pytest.mark.parametrize("chunk_size", [1, 7, 64, 1 << 20])
    async def test_parts_survive_any_network_chunking(self, chunk_size: int):
        sent = [field("purpose", "stt_input"), file(b"RIFF" + bytes(range(256)) * 4, "dé jà.wav"), field("x", "")]
        body, _ = multipart(sent)

        parts = await read_all(MultipartReader.open(CONTENT_TYPE, pieces(body, chunk_size), len(body)))

        assert parts == sent

    async def test_unread_parts_are_skipped(self):
        body, _ = multipart([file(b"a" * 1000, "big.bin"), field("purpose", "voice_clone")])
        names = [part.name async for part in MultipartReader.open(CONTENT_TYPE, pieces(body, 100), len(body))]
        assert names == ["file", "purpose"]

    async def test_text_field_over_its_limit_is_422(self):
        body, _ = multipart([field("purpose", "x" * 100)])
        async for part in MultipartReader.open(CONTENT_TYPE, pieces(body, 10), len(body)):
            with pytest.raises(Unprocessable):
                await part.read_text(64)

    async def test_body_over_its_limit_is_413(self):
        body, _ = multipart([file(b"a" * 1000)])
        with pytest.raises(PayloadTooLarge):
            await read_all(MultipartReader.open(CONTENT_TYPE, pieces(body, 100), 500))

    async def test_body_ending_before_the_closing_boundary_is_422(self):
        body, _ = multipart([file(b"a" * 1000)])
        with pytest.raises(Unprocessable):
            await read_all(MultipartReader.open(CONTENT_TYPE, pieces(body[:-10], 100), len(body)))

    @pytest.mark.parametrize(
        "content_type",
        [None, "", "application/json", "multipart/form-data", "multipart/mixed; boundary=x", "text/plain; boundary=x"],
    )
    def test_needs_a_form_data_content_type_with_a_boundary(self, content_type: str | None):
        with pytest.raises(Unprocessable):
            boundary_of(content_type)

    def test_reads_a_quoted_boundary(self):
        assert boundary_of('multipart/form-data; boundary="a b"') == b"a b"
