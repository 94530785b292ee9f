"""Content types of stored media, by file extension."""

from __future__ import annotations

from types import MappingProxyType

DEFAULT_CONTENT_TYPE = "application/octet-stream"

CONTENT_TYPES = MappingProxyType(
    {
        "wav": "audio/wav",
        "mp3": "audio/mpeg",
        "ogg": "audio/ogg",
        "opus": "audio/opus",
        "flac": "audio/flac",
        "m4a": "audio/mp4",
        "aac": "audio/aac",
        "weba": "audio/webm",
        "json": "application/json",
        "txt": "text/plain; charset=utf-8",
        "srt": "application/x-subrip",
        "vtt": "text/vtt",
        "png": "image/png",
        "jpg": "image/jpeg",
        "jpeg": "image/jpeg",
        "webp": "image/webp",
        "gif": "image/gif",
        "mp4": "video/mp4",
        "webm": "video/webm",
        "mov": "video/quicktime",
    }
)


def content_type_for(key: str) -> str:
    """The content type for a key or file name, judged by its extension; octet-stream when unknown."""
    name = key.rsplit("/", 1)[-1]
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return CONTENT_TYPES.get(ext, DEFAULT_CONTENT_TYPE)
