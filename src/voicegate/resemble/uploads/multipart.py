"""A pull-style reader over python-multipart's push parser, so a `multipart/form-data` body is consumed part by
part, chunk by chunk, as it arrives: nothing is buffered beyond the network chunk being parsed.

    form = MultipartReader.open(content_type, body, max_body_bytes)
    async for part in form:
        ...  # part.name, part.filename; `await part.read_text(limit)` or `async for chunk in part.chunks()`

A part not read to its end is skipped when the next part is requested.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field
from enum import Enum, auto

from python_multipart import MultipartParser
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import parse_options_header

from voicegate.errors import PayloadTooLarge, Unprocessable


class _Mark(Enum):
    PART_END = auto()
    END = auto()


@dataclass(frozen=True, slots=True)
class _PartStart:
    headers: dict[str, str]


_Event = _PartStart | bytes | _Mark


def _decode(raw: bytes) -> str:
    """UTF-8 (what browsers and HTTP clients send in form-data names), else Latin-1."""
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def boundary_of(content_type: str | None) -> bytes:
    """The boundary of a `multipart/form-data` Content-Type; 422 for anything else."""
    media_type, params = parse_options_header(content_type or "")
    boundary = params.get(b"boundary", b"")
    if media_type != b"multipart/form-data" or not boundary:
        raise Unprocessable("Expected a multipart/form-data body with a boundary")
    return boundary


@dataclass(eq=False)
class _Callbacks:
    """Collects the parser's callbacks into events; one `MultipartParser.write` yields at most one chunk's worth."""

    events: deque[_Event] = field(default_factory=deque)
    _headers: dict[str, str] = field(default_factory=dict)
    _field: bytearray = field(default_factory=bytearray)
    _value: bytearray = field(default_factory=bytearray)

    def on_part_begin(self) -> None:
        self._headers = {}

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def on_header_end(self) -> None:
        # Latin-1 keeps the raw bytes (parse_options_header expects it); parameter values are decoded later.
        self._headers[self._field.decode("latin-1").strip().lower()] = self._value.decode("latin-1").strip()
        self._field.clear()
        self._value.clear()

    def on_headers_finished(self) -> None:
        self.events.append(_PartStart(self._headers))

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if end > start:
            self.events.append(data[start:end])

    def on_part_end(self) -> None:
        self.events.append(_Mark.PART_END)

    def on_end(self) -> None:
        self.events.append(_Mark.END)


class Part:
    """One form part: its field name, file name (None for plain fields) and declared content type."""

    def __init__(self, reader: MultipartReader, headers: dict[str, str]) -> None:
        self._reader = reader
        _, params = parse_options_header(headers.get("content-disposition", ""))
        self.name = _decode(params.get(b"name", b""))
        filename = params.get(b"filename")
        self.filename = None if filename is None else _decode(filename)
        self.content_type = headers.get("content-type")
        self.finished = False

    async def chunks(self) -> AsyncGenerator[bytes, None]:
        """The part's data as it arrives; may be started only once."""
        while not self.finished:
            event = await self._reader.next_event()
            if isinstance(event, bytes):
                yield event
            elif event is _Mark.PART_END:
                self.finished = True
            else:
                raise Unprocessable("Malformed multipart body")

    async def read_text(self, limit: int) -> str:
        """A small field's value; 422 past `limit` bytes."""
        value = bytearray()
        async for chunk in self.chunks():
            value += chunk
            if len(value) > limit:
                raise Unprocessable(f"Form field {self.name!r} is longer than {limit} bytes")
        return _decode(bytes(value))

    async def skip(self) -> None:
        async for _ in self.chunks():
            pass


class MultipartReader:
    def __init__(self, body: AsyncIterator[bytes], boundary: bytes, max_body_bytes: int) -> None:
        self._body = body
        self._max_body_bytes = max_body_bytes
        self._received = 0
        self._callbacks = _Callbacks()
        try:
            self._parser = MultipartParser(
                boundary,
                {
                    "on_part_begin": self._callbacks.on_part_begin,
                    "on_header_field": self._callbacks.on_header_field,
                    "on_header_value": self._callbacks.on_header_value,
                    "on_header_end": self._callbacks.on_header_end,
                    "on_headers_finished": self._callbacks.on_headers_finished,
                    "on_part_data": self._callbacks.on_part_data,
                    "on_part_end": self._callbacks.on_part_end,
                    "on_end": self._callbacks.on_end,
                },
            )
        except FormParserError as exc:  # e.g. a boundary longer than RFC 2046 allows
            raise Unprocessable(f"Malformed multipart body: {exc}") from exc
        self._current: Part | None = None
        self._ended = False

    @classmethod
    def open(cls, content_type: str | None, body: AsyncIterator[bytes], max_body_bytes: int) -> MultipartReader:
        return cls(body, boundary_of(content_type), max_body_bytes)

    async def next_event(self) -> _Event:
        events = self._callbacks.events
        while not events:
            chunk = await anext(self._body, None)
            if chunk is None:
                raise Unprocessable("Malformed multipart body: it ended before the closing boundary")
            self._received += len(chunk)
            if self._received > self._max_body_bytes:
                raise PayloadTooLarge(f"Request body is larger than {self._max_body_bytes} bytes")
            try:
                self._parser.write(chunk)
            except FormParserError as exc:
                raise Unprocessable(f"Malformed multipart body: {exc}") from exc
        return events.popleft()

    def __aiter__(self) -> AsyncIterator[Part]:
        return self._parts()

    async def _parts(self) -> AsyncIterator[Part]:
        while not self._ended:
            if self._current is not None and not self._current.finished:
                await self._current.skip()
            event = await self.next_event()
            if event is _Mark.END:
                self._ended = True
            elif isinstance(event, _PartStart):
                self._current = Part(self, event.headers)
                yield self._current
            else:
                raise Unprocessable("Malformed multipart body")
