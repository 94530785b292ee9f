"""Domain errors carry their HTTP status; one set of handlers renders every error as `{"detail": ...}`."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from voicegate.db.errors import classify as classify_database_error

log = logging.getLogger(__name__)


class GatewayError(Exception):
    status_code = 400
    detail = "Bad request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        status_code: int | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        self.detail = detail or self.detail
        self.status_code = status_code or self.status_code
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})
        super().__init__(self.detail)


class BadRequest(GatewayError):
    status_code = 400


class Unauthorized(GatewayError):
    status_code = 401
    detail = "Not authenticated"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(GatewayError):
    status_code = 403
    detail = "Forbidden"


class NotFound(GatewayError):
    status_code = 404
    detail = "Not found"


class Conflict(GatewayError):
    status_code = 409
    detail = "Conflict"


class Gone(GatewayError):
    """The thing existed but was deleted by retention (an expired asset): it will not come back by retrying."""

    status_code = 410
    detail = "Gone"


class PayloadTooLarge(GatewayError):
    status_code = 413
    detail = "Payload too large"


class UnsupportedMedia(GatewayError):
    status_code = 415
    detail = (
        "Unsupported media type: send audio (WAV, MP3, OGG, FLAC, M4A, AAC), video (MP4, MOV, WebM, MKV) "
        "or an image (PNG, JPEG, GIF, WebP)"
    )


class StorageUnavailable(GatewayError):
    status_code = 502
    detail = "Storage unavailable"


class Unprocessable(GatewayError):
    status_code = 422
    detail = "Validation error"


class InsufficientCredits(GatewayError):
    status_code = 402
    detail = "Insufficient credits"


class RateLimited(GatewayError):
    status_code = 429
    detail = "Rate limit exceeded"

    def __init__(self, detail: str, retry_after_s: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after_s))})


class PlanGated(GatewayError):
    status_code = 503
    detail = (
        "This capability needs Resemble's Business-plan, which this gateway has not enabled yet; "
        "ask support to request the upgrade."
    )


class UpstreamError(GatewayError):
    """Resemble failed (5xx, malformed answer, account-level refusal): the gateway answers 502."""

    status_code = 502
    detail = "Resemble upstream error"


class UpstreamTimeout(UpstreamError):
    detail = "Resemble upstream error"


class UpstreamUnavailable(GatewayError):
    """The circuit breaker is open: upstream is not called at all."""

    status_code = 503
    detail = "Resemble upstream temporarily unavailable (circuit open)"

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(headers={"Retry-After": str(max(1, retry_after_s))})


class DatabaseUnavailable(GatewayError):
    """The database cannot be reached or has no free connection: nothing was committed, retry later."""

    status_code = 503
    detail = "Database temporarily unavailable; retry later"

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(headers={"Retry-After": str(max(1, retry_after_s))})


class UpstreamRejected(GatewayError):
    """Resemble refused the input itself (400/404/422): passed through with the same status and its message."""


class ValidationIssue(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ErrorRead(BaseModel):
    """Every error body: `detail` is a message, or the list of invalid fields for a request that failed
    validation. Some errors add context beside it (e.g. `reason`)."""

    model_config = ConfigDict(extra="allow")

    detail: str | list[ValidationIssue]


def described(descriptions: Mapping[int, str]) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: each status with its meaning and the error body."""
    return {status: {"model": ErrorRead, "description": text} for status, text in descriptions.items()}


# Declared on every route (routes add their own statuses): FastAPI's default 422 body is not ours.
COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": ErrorRead, "description": "Client error"},
    "5XX": {"model": ErrorRead, "description": "Upstream or service failure"},
}


# Routes under this prefix speak OpenAI's API, whose clients read `{"error": {...}}`, not `{"detail": ...}`.
OPENAI_PREFIX = "/v1/"
_OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "insufficient_quota",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}
_OPENAI_CODES = {401: "invalid_api_key", 402: "insufficient_quota", 429: "rate_limit_exceeded"}


def openai_error_body(status_code: int, message: str, *, code: str | None = None, param: str | None = None) -> dict:
    """OpenAI's error object: `type` from the status (its SDK raises by status, its users read `type`/`code`)."""
    kind = _OPENAI_TYPES.get(status_code, "api_error" if status_code >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": kind, "code": code or _OPENAI_CODES.get(status_code), "param": param}}


def _render(
    request: Request, status_code: int, detail: Any, headers: Mapping[str, str] | None = None, **extra: Any
) -> JSONResponse:
    if request.url.path.startswith(OPENAI_PREFIX):
        return JSONResponse(
            _openai_body(status_code, detail, extra), status_code=status_code, headers=dict(headers or {})
        )
    return JSONResponse({"detail": detail, **extra}, status_code=status_code, headers=dict(headers or {}))


def _openai_body(status_code: int, detail: Any, extra: Mapping[str, Any]) -> dict:
    param = extra.get("param")
    if isinstance(detail, list):  # validation issues: name the first field, list them all in the message
        first = detail[0] if detail else {}
        loc = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path", "header")]
        param = param or (".".join(loc) or None)
        message = "; ".join(
            f"{'.'.join(str(p) for p in issue.get('loc', ())[1:]) or 'request'}: {issue.get('msg', '')}"
            for issue in detail
        )
    else:
        message = str(detail)
    code = extra.get("code")
    return openai_error_body(status_code, message, code=str(code) if code else None, param=param)


async def _gateway_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GatewayError)
    return _render(request, exc.status_code, exc.detail, exc.headers, **exc.extra)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in exc.errors()]
    return _render(request, 422, errors)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return _render(request, exc.status_code, exc.detail, exc.headers)


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    outage = classify_database_error(exc)
    if outage is None:  # a bug (IntegrityError, ProgrammingError, ...): on to the last-resort handler, a logged 500
        raise exc
    log.warning(
        "database_unavailable",
        extra={"path": request.url.path, "reason": outage.reason, "error": _driver_message(exc)},
    )
    return await _gateway_error(request, DatabaseUnavailable(outage.retry_after_s))


def _driver_message(exc: Exception) -> str:
    # The driver's own words only: SQLAlchemy's full message embeds the statement and its bound parameters.
    orig = getattr(exc, "orig", None) or exc
    return f"{type(orig).__name__}: {orig}"[:300]


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled_error", extra={"path": request.url.path})
    return _render(request, 500, "Internal server error")


def log_item_failure(logger: logging.Logger, event: str, exc: BaseException, **extra: Any) -> None:
    """Log why one item of a background sweep failed; call it from the `except` block.

    A `GatewayError` (Resemble down, the database busy, credit short) is an expected outcome the next run retries:
    a warning naming it, its cause already logged where it happened. Anything else is a bug and keeps its traceback.
    """
    if isinstance(exc, GatewayError):
        logger.warning(event, extra={**extra, "error": type(exc).__name__})
    else:
        logger.exception(event, extra=extra)


def install_exception_handlers(app: FastAPI) -> None:
    app.add_exception_handler(GatewayError, _gateway_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(SQLAlchemyError, _database_error)
    app.add_exception_handler(Exception, _unexpected_error)


# --- OpenAI-shaped error bodies, for the OpenAPI document of the `/v1/` routes -------------------------------------


class OpenAIErrorDetail(BaseModel):
    message: str
    type: str
    code: str | None
    param: str | None


class OpenAIErrorRead(BaseModel):
    """Every error under `/v1/`: OpenAI's error object, so its SDK raises its usual exceptions."""

    error: OpenAIErrorDetail


def described_openai(descriptions: Mapping[int, str]) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a `/v1/` route: each status with its meaning and OpenAI's error body."""
    statuses: dict[int | str, str] = {"4XX": "Client error", "5XX": "Upstream or service failure"}
    for status, text in descriptions.items():
        statuses[status] = text
    return {status: {"model": OpenAIErrorRead, "description": text} for status, text in statuses.items()}
