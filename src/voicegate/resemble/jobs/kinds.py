"""One row per asynchronous capability: how to submit it upstream, read its status, bill it and mirror its output.

This is the single table that makes `stt`, `enhance`, `edit`, `detect`, `intelligence`, `tracing`,
`watermark/apply` and `watermark/detect` one mechanism instead of eight.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from voicegate.db.models.provider_resemble_job import JobStatus
from voicegate.resemble.jobs import schemas
from voicegate.storage.retention import AssetClass
from voicegate.upstream import jobs as wire
from voicegate.upstream.client import JSONObject, ResembleClient

Submit = Callable[[ResembleClient, wire.Media, Mapping[str, Any], "str | None"], Awaitable[JSONObject]]


@dataclass(frozen=True)
class JobKind:
    capability: str  # stored on the job and used as the rate-card key where one unit fits all
    path: str  # route under /api/v1/resemble
    limit: str  # rate-limit capability
    body: type[schemas.JobSubmit]
    submit: Submit
    needs_bytes: bool  # Resemble takes a file here; otherwise a URL is enough
    callbacks: bool  # Resemble calls back when done
    output_field: str | None = None  # where the result media URL sits in the upstream item
    output_class: AssetClass | None = None
    measure_input: bool = False  # the bill depends on the input's duration, which upstream does not report


def _stt(c: ResembleClient, m: wire.Media, o: Mapping[str, Any], cb: str | None) -> Awaitable[JSONObject]:
    return wire.create_transcript(c, m, callback_url=cb, query=o.get("query"))


def _enhance(c: ResembleClient, m: wire.Media, o: Mapping[str, Any], cb: str | None) -> Awaitable[JSONObject]:
    return wire.create_enhancement(c, m, options=o)


def _edit(c: ResembleClient, m: wire.Media, o: Mapping[str, Any], cb: str | None) -> Awaitable[JSONObject]:
    return wire.create_edit(c, m, options=o, callback_url=cb)


def _detect(c: ResembleClient, m: wire.Media, o: Mapping[str, Any], cb: str | None) -> Awaitable[JSONObject]:
    return wire.create_detect(c, m, options=o, callback_url=cb)


def _intelligence(c: ResembleClient, m: wire.Media, o: Mapping[str, Any], cb: str | None) -> Awaitable[JSONObject]:
    return wire.create_intelligence(c, m, options=o, callback_url=cb)


def _watermark_apply(c: ResembleClient, m: wire.Media, o: Mapping[str, Any], cb: str | None) -> Awaitable[JSONObject]:
    return wire.create_watermark(c, "apply", m, options=o)


def _watermark_detect(c: ResembleClient, m: wire.Media, o: Mapping[str, Any], cb: str | None) -> Awaitable[JSONObject]:
    return wire.create_watermark(c, "detect", m, options=o)


KINDS: dict[str, JobKind] = {
    kind.capability: kind
    for kind in (
        JobKind("stt", "stt", "stt", schemas.SttSubmit, _stt, needs_bytes=True, callbacks=True),
        JobKind(
            "enhance",
            "enhance",
            "enhance",
            schemas.EnhanceSubmit,
            _enhance,
            needs_bytes=True,
            callbacks=False,
            output_field="enhanced_audio_url",
            output_class=AssetClass.AUDIO_JOBS,
        ),
        JobKind(
            "edit",
            "edit",
            "edit",
            schemas.EditSubmit,
            _edit,
            needs_bytes=True,
            callbacks=True,
            output_field="result_audio_url",
            output_class=AssetClass.AUDIO_JOBS,
        ),
        JobKind("detect", "detect", "detect", schemas.DetectSubmit, _detect, needs_bytes=False, callbacks=True),
        JobKind(
            "intelligence",
            "intelligence",
            "intelligence",
            schemas.IntelligenceSubmit,
            _intelligence,
            needs_bytes=False,
            callbacks=True,
        ),
        JobKind("tracing", "tracing", "tracing", schemas.TracingSubmit, _detect, needs_bytes=False, callbacks=True),
        JobKind(
            "watermark_apply",
            "watermark/apply",
            "watermark",
            schemas.WatermarkApplySubmit,
            _watermark_apply,
            needs_bytes=False,
            callbacks=False,
            output_field="watermarked_media",
            output_class=AssetClass.WATERMARK,
        ),
        JobKind(
            "watermark_detect",
            "watermark/detect",
            "watermark",
            schemas.WatermarkDetectSubmit,
            _watermark_detect,
            needs_bytes=False,
            callbacks=False,
            measure_input=True,
        ),
    )
}


def item_of(body: JSONObject) -> JSONObject:
    """Resemble wraps most results in `item`; audio enhancement answers flat."""
    item = body.get("item")
    return item if isinstance(item, dict) else body


def upstream_id_of(body: JSONObject) -> str | None:
    value = item_of(body).get("uuid") or body.get("uuid")
    return str(value) if value else None


_STATUS_WORDS = {
    "pending": JobStatus.PENDING,
    "queued": JobStatus.PENDING,
    "processing": JobStatus.PROCESSING,
    "running": JobStatus.PROCESSING,
    "in_progress": JobStatus.PROCESSING,
    "completed": JobStatus.COMPLETED,
    "succeeded": JobStatus.COMPLETED,
    "done": JobStatus.COMPLETED,
    "failed": JobStatus.FAILED,
    "error": JobStatus.FAILED,
    "partially_failed": JobStatus.FAILED,
}


def status_of(kind: JobKind, item: JSONObject) -> JobStatus:
    """Our four states from Resemble's, including the endpoints that have no status field at all."""
    if kind.capability == "edit":  # edit reports only a result URL or an error (supplement, section 2)
        if item.get("error"):
            return JobStatus.FAILED
        return JobStatus.COMPLETED if item.get("result_audio_url") else JobStatus.PROCESSING
    raw = str(item.get("status") or "").lower()
    if raw in _STATUS_WORDS:
        return _STATUS_WORDS[raw]
    if kind.capability == "intelligence" and item.get("description"):
        return JobStatus.COMPLETED
    return JobStatus.PROCESSING


def error_of(item: JSONObject) -> str | None:
    for field in ("error_message", "error", "message"):
        value = item.get(field)
        if isinstance(value, str) and value:
            return value[:500]
    return None


def _seconds(value: object) -> Decimal | None:
    try:
        seconds = Decimal(str(value))
    except ArithmeticError:
        return None
    return seconds if seconds.is_finite() and seconds >= 0 else None


def billable(
    kind: JobKind, item: JSONObject, *, input_seconds: Decimal | None, output_seconds: Decimal | None
) -> tuple[str, Decimal | None]:
    """The rate-card row and quantity for a completed job; quantity None means it could not be measured."""
    if kind.capability == "stt":
        return "stt", _seconds(item.get("duration_seconds")) or input_seconds
    if kind.capability in ("detect", "tracing"):
        duration = _seconds(item.get("duration")) or input_seconds
        media_type = str(item.get("media_type") or "audio")
        if kind.capability == "tracing":
            return "tracing", duration
        if media_type == "image":
            return "detect_image", Decimal(1)
        return ("detect_video" if media_type == "video" else "detect_audio"), duration
    if kind.capability == "intelligence":
        return "intelligence", Decimal(1)
    if kind.capability == "watermark_detect":
        return "watermark_detect", input_seconds
    return kind.capability, output_seconds or input_seconds


def estimate_rate(kind: JobKind, media_kind: str | None) -> str:
    """The rate-card row used for the credit hold, before the result is known."""
    if kind.capability == "detect":
        return {"image": "detect_image", "video": "detect_video"}.get(media_kind or "", "detect_audio")
    return kind.capability
