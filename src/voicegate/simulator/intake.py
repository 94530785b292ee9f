"""Shared plumbing of the asynchronous routes: request bodies (JSON or multipart), typed fields, input media
(upload, URL fetched like Resemble would, or secure-upload token), job planning with faults, and pagination."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import UploadFile
from starlette.requests import Request

from .audio import DEFAULT_TONE_HZ
from .errors import SimulatorError
from .jobs import FetchError, JobEngine, Outcome, media_url
from .media import MediaError, MediaInfo, MediaType, output_sample_rate, probe, render_wav, watermark_wav
from .params import FieldErrors, int_query
from .state import SimulatorState

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


@dataclass(frozen=True)
class FilePart:
    data: bytes
    filename: str | None
    content_type: str | None


@dataclass
class Body:
    fields: dict[str, Any]  # JSON values, or strings for form fields
    files: dict[str, FilePart]
    multipart: bool


def is_form(request: Request) -> bool:
    content_type = request.headers.get("content-type", "").lower()
    return content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded"))


async def read_body(request: Request, *, json_allowed: bool = True, form_allowed: bool = True) -> Body:
    if is_form(request):
        if not form_allowed:
            raise SimulatorError(400, "Request body must be JSON (application/json)")
        fields: dict[str, Any] = {}
        files: dict[str, FilePart] = {}
        async with request.form() as form:
            for name, value in form.multi_items():
                if isinstance(value, UploadFile):
                    files[name] = FilePart(await value.read(), value.filename, value.content_type)
                else:
                    fields[name] = value
        return Body(fields, files, multipart=True)
    if not json_allowed:
        raise SimulatorError(400, "Request body must be multipart/form-data")
    raw = await request.body()
    try:
        payload = json.loads(raw) if raw else None
    except ValueError:
        raise SimulatorError(400, "Request body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise SimulatorError(400, "Request body must be a JSON object")
    return Body(payload, {}, multipart=False)


# typed fields (JSON values, or the strings a multipart form carries)


def str_field(
    body: Body, name: str, errors: FieldErrors, *, required: bool = False, max_len: int | None = None
) -> str | None:
    value = body.fields.get(name)
    if value is None or (value == "" and body.multipart):
        if required:
            errors.add(name, "is required")
        return None
    if not isinstance(value, str):
        errors.add(name, "must be a string")
        return None
    if required and not value.strip():
        errors.add(name, "is required")
        return None
    if max_len is not None and len(value) > max_len:
        errors.add(name, f"must be at most {max_len} characters")
    return value


def bool_field(body: Body, name: str, errors: FieldErrors, *, default: bool = False) -> bool:
    value = body.fields.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE:
        return True
    if isinstance(value, str) and value.strip().lower() in _FALSE:
        return False
    errors.add(name, "must be a boolean")
    return default


def number_field(
    body: Body,
    name: str,
    errors: FieldErrors,
    *,
    default: float | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    integer: bool = False,
) -> float | None:
    value = body.fields.get(name)
    if value is None or value == "":
        return default
    number: float | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            number = None
    kind = "an integer" if integer else "a number"
    if number is None or not math.isfinite(number) or (integer and not number.is_integer()):
        errors.add(name, f"must be {kind}")
        return default
    if minimum is not None and number < minimum:
        errors.add(name, f"must be greater than or equal to {minimum:g}")
    elif maximum is not None and number > maximum:
        errors.add(name, f"must be less than or equal to {maximum:g}")
    return number


def enum_field(
    body: Body, name: str, errors: FieldErrors, choices: Iterable[str], *, default: str | None
) -> str | None:
    value = body.fields.get(name)
    if value is None or value == "":
        return default
    options = tuple(choices)
    if value not in options:
        errors.add(name, f"must be one of {', '.join(options)}")
        return default
    return str(value)


def url_field(body: Body, name: str, errors: FieldErrors, *, required: bool = False) -> str | None:
    value = str_field(body, name, errors, required=required)
    if value is not None and not is_http_url(value):
        errors.add(name, "must be an absolute http(s) URL")
        return None
    return value


def is_http_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in {"http", "https"} and bool(parts.netloc)


def file_field(body: Body, name: str, errors: FieldErrors, *, required: bool = False) -> FilePart | None:
    part = body.files.get(name)
    if part is None:
        if name in body.fields and body.fields[name] not in (None, ""):
            errors.add(name, "must be a file upload")
        elif required:
            errors.add(name, "is required")
        return None
    if not part.data:
        errors.add(name, "must not be empty")
        return None
    return part


def token_upload(
    engine: JobEngine, token: str | None, errors: FieldErrors, name: str = "media_token"
) -> FilePart | None:
    if token is None:
        return None
    upload = engine.upload(token)
    if upload is None:
        errors.add(name, "is invalid or expired")
        return None
    return FilePart(upload.data, upload.filename, upload.content_type)


# input media


@dataclass
class Input:
    """What a job was given: bytes (possibly unusable), or an error that will fail the job."""

    data: bytes | None
    info: MediaInfo | None
    error: str | None
    filename: str | None
    source_url: str | None  # the URL the client gave, if any
    input_token: str | None = None  # signed copy of the bytes the simulator holds

    @property
    def duration(self) -> float | None:
        """Seconds of audio or video, when the input could be measured (what Resemble bills by)."""
        return self.info.duration if self.info is not None else None

    def url(self, base_url: str) -> str | None:
        if self.source_url is not None:
            return self.source_url
        return media_url(base_url, self.input_token) if self.input_token is not None else None


def _url_filename(url: str) -> str | None:
    name = urlsplit(url).path.rsplit("/", 1)[-1]
    return name or None


async def load_input(
    engine: JobEngine,
    *,
    accept: Iterable[MediaType],
    part: FilePart | None = None,
    url: str | None = None,
    keep_copy: bool = True,
) -> Input:
    """Read the media of a job; an unfetchable URL or unsupported content becomes the job's error."""
    if part is not None:
        data, filename, error = part.data, part.filename, None
    else:
        assert url is not None
        filename = _url_filename(url)
        try:
            data, error = await engine.fetch(url), None
        except FetchError as exc:
            return Input(None, None, str(exc), filename, url)
    info: MediaInfo | None = None
    try:
        info = probe(data)
    except MediaError as exc:
        error = str(exc)
    else:
        allowed = tuple(accept)
        if info.media_type not in allowed:
            error = f"Unsupported media type {info.media_type}: expected {' or '.join(allowed)}"
    token = None
    if keep_copy and url is None:
        token = engine.store_media(info.extension if info is not None else "bin", data=data)
    return Input(data, info, error, filename, url, token)


# job planning


@dataclass(frozen=True)
class Plan:
    outcome: Outcome
    error: str | None
    callback_repeat: int


def plan_job(state: SimulatorState, request: Request, error: str | None) -> Plan:
    """Consume the job fault (if any) matching the submit path and decide how the job ends."""
    fault = state.take_fault(request.url.path, job=True)
    repeat = fault.repeat if fault is not None and fault.mode == "callback_repeat" else 1
    if fault is not None and fault.mode == "callback_drop":
        repeat = 0  # the job settles, but its callback never leaves: only a poll can find out
    if error is not None:
        return Plan("fail", error, repeat)
    if fault is not None and fault.mode == "job_fail":
        return Plan("fail", fault.message or f"Simulated processing failure ({fault.id})", repeat)
    if fault is not None and fault.mode == "job_hang":
        return Plan("hang", None, repeat)
    return Plan("complete", None, repeat)


def wants_wait(request: Request) -> bool:
    """`Prefer: wait` (RFC 7240 preference list; `wait=N` accepted too)."""
    for preference in request.headers.get("prefer", "").split(","):
        if preference.split("=", 1)[0].split(";", 1)[0].strip().lower() == "wait":
            return True
    return False


def base_url(request: Request) -> str:
    return str(request.base_url)


# pagination (shape 1: page / num_pages / page_size / total_count / items)


def page_query(
    query: Mapping[str, str], *, size_name: str = "page_size", default: int = 10, minimum: int = 10, maximum: int = 1000
) -> tuple[int, int]:
    errors = FieldErrors()
    page = int_query(query, "page", errors, minimum=1)
    size = int_query(query, size_name, errors, default=default, minimum=minimum, maximum=maximum)
    errors.raise_if_any()
    assert page is not None
    assert size is not None
    return page, size


def page_slice(items: list[Any], page: int, size: int) -> tuple[list[Any], int]:
    start = (page - 1) * size
    return items[start : start + size], max(1, math.ceil(len(items) / size))


def paged(items: list[dict[str, Any]], page: int, size: int) -> dict[str, Any]:
    chunk, num_pages = page_slice(items, page, size)
    return {
        "success": True,
        "page": page,
        "num_pages": num_pages,
        "page_size": size,
        "total_count": len(items),
        "items": chunk,
    }


def store_wav_output(
    engine: JobEngine,
    info: MediaInfo | None,
    *,
    tone_hz: float = DEFAULT_TONE_HZ,
    watermark: str | None = None,
) -> str:
    """Register a real WAV with the input's duration (rendered when downloaded); returns its URL token."""
    duration = info.duration if info is not None and info.duration else 1.0
    rate = output_sample_rate(info)

    def render() -> bytes:
        wav = render_wav(duration, rate, tone_hz=tone_hz)
        return watermark_wav(wav, watermark) if watermark is not None else wav

    return engine.store_media("wav", render=render, size_hint=int(duration * rate * 2))
