"""Resemble's asynchronous endpoints, on the wire: one submit and one fetch per capability.

Paths, field names and envelopes follow `resemble-openapi.json` (edit: the supplement). Media goes up either as
bytes (multipart, where Resemble takes a file) or as a URL (where it takes only a URL). Submits are billed
upstream and never retried blindly; fetches are idempotent reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from voicegate.upstream.client import JSONObject, ResembleClient


@dataclass(frozen=True)
class Media:
    """What to send: `data` (bytes, with a file name and mime type) or `url` (passed as-is to Resemble)."""

    url: str | None = None
    data: bytes | None = None
    filename: str = "media"
    content_type: str = "application/octet-stream"

    def file(self) -> tuple[str, bytes, str]:
        assert self.data is not None
        return (self.filename, self.data, self.content_type)


def form_fields(fields: Mapping[str, Any]) -> dict[str, str]:
    """Multipart form values are strings; booleans as Resemble's examples write them."""
    form: dict[str, str] = {}
    for key, value in fields.items():
        if value is None:
            continue
        form[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return form


def _drop_none(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not None}


async def create_transcript(
    client: ResembleClient, media: Media, *, callback_url: str | None, query: str | None = None
) -> JSONObject:
    form = form_fields({"callback_url": callback_url, "query": query})
    return await client.request_json(
        "POST", "speech-to-text", data=form, files={"file": media.file()}, idempotent=False, operation="stt.create"
    )


async def create_enhancement(client: ResembleClient, media: Media, *, options: Mapping[str, Any]) -> JSONObject:
    return await client.request_json(
        "POST",
        "audio_enhancements",
        data=form_fields(options),
        files={"audio_file": media.file()},
        idempotent=False,
        operation="enhance.create",
    )


async def create_edit(
    client: ResembleClient, media: Media, *, options: Mapping[str, Any], callback_url: str | None
) -> JSONObject:
    form = form_fields({**options, "callback_uri": callback_url})
    return await client.request_json(
        "POST", "edit", data=form, files={"input_audio": media.file()}, idempotent=False, operation="edit.create"
    )


async def create_detect(
    client: ResembleClient, media: Media, *, options: Mapping[str, Any], callback_url: str | None
) -> JSONObject:
    fields = {**options, "callback_url": callback_url}
    if media.url is not None:
        return await client.request_json(
            "POST", "detect", json=_drop_none({**fields, "url": media.url}), idempotent=False, operation="detect.create"
        )
    return await client.request_json(
        "POST",
        "detect",
        data=form_fields(fields),
        files={"file": media.file()},
        idempotent=False,
        operation="detect.create",
    )


async def create_intelligence(
    client: ResembleClient, media: Media, *, options: Mapping[str, Any], callback_url: str | None
) -> JSONObject:
    body = _drop_none({**options, "url": media.url, "callback_url": callback_url})
    return await client.request_json(
        "POST", "intelligence", json=body, idempotent=False, operation="intelligence.create"
    )


async def create_watermark(
    client: ResembleClient, operation: str, media: Media, *, options: Mapping[str, Any]
) -> JSONObject:
    body = _drop_none({**options, "url": media.url})
    return await client.request_json(
        "POST", f"watermark/{operation}", json=body, idempotent=False, operation=f"watermark_{operation}.create"
    )


FETCH_PATHS = {
    "stt": "speech-to-text/{id}",
    "enhance": "audio_enhancements/{id}",
    "edit": "edit/{id}",
    "detect": "detect/{id}",
    "tracing": "detect/{id}",
    "intelligence": "intelligences/{id}",
    "watermark_apply": "watermark/apply/{id}/result",
    "watermark_detect": "watermark/detect/{id}/result",
}


# Of the job kinds, Resemble deletes only detects (a tracing job is a detect); transcripts, enhancements, edits,
# intelligence reports and watermark jobs have no DELETE in its API.
DELETE_PATHS = {
    "detect": "detect/{id}",
    "tracing": "detect/{id}",
}


def delete_path(capability: str, upstream_id: str) -> str | None:
    """Where to DELETE a job's record (and media) at Resemble; None when Resemble offers no delete for it."""
    template = DELETE_PATHS.get(capability)
    return None if template is None else template.format(id=_quote(upstream_id))


async def fetch_job(client: ResembleClient, capability: str, upstream_id: str) -> JSONObject:
    path = FETCH_PATHS[capability].format(id=_quote(upstream_id))
    return await client.request_json("GET", path, idempotent=True, operation=f"{capability}.get")


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")
