"""Reading the transcription routes' multipart forms (the hub's and OpenAI's): the file, bounded, and the
timestamp granularities in either client's spelling."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import Form, UploadFile

from voicegate.config import Settings
from voicegate.errors import PayloadTooLarge, Unprocessable
from voicegate.hub.service import AudioFile

GRANULARITIES = frozenset({"word", "segment"})
READ_CHUNK = 1024 * 1024
# A BCP 47-style language hint (`en`, `pt-BR`); Resemble detects the language itself and keeps the hint with the job.
Language = Annotated[str | None, Form(min_length=2, max_length=16, pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]+)*$")]


def max_audio_bytes(settings: Settings) -> int:
    """A transcription input is both an upload and the STT job's input, so it obeys both limits."""
    return min(settings.upload_max_bytes, settings.media_fetch_max_bytes)


async def read_audio(file: UploadFile, max_bytes: int) -> AudioFile:
    data = bytearray()
    while chunk := await file.read(READ_CHUNK):
        data += chunk
        if len(data) > max_bytes:
            raise PayloadTooLarge(f"Audio file exceeds the limit of {max_bytes} bytes")
    return AudioFile(data=bytes(data), filename=file.filename)


def parse_granularities(values: list[str] | None) -> frozenset[str]:
    """OpenAI's SDK repeats `timestamp_granularities[]`; the indoxhub SDK sends one JSON list as a string."""
    found: set[str] = set()
    for value in values or ():
        text = value.strip()
        items: object = text
        if text.startswith("["):
            try:
                items = json.loads(text)
            except ValueError:
                raise Unprocessable("timestamp_granularities must be a JSON list of 'word' and 'segment'") from None
        for item in items if isinstance(items, list) else [items]:
            if item not in GRANULARITIES:
                raise Unprocessable(f"Unknown timestamp granularity {item!r}; use 'word' and/or 'segment'")
            found.add(str(item))
    return frozenset(found)
