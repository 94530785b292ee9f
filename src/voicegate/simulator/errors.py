"""Resemble's `Error` wire shape (`{success, error, errors, message}`) and the handlers that render it."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

_REASONS = {
    400: "Bad request",
    401: "Invalid API token",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    408: "Request timeout",
    413: "Payload too large",
    422: "Unprocessable entity",
    429: "Too many requests",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}


def reason_for(status: int) -> str:
    return _REASONS.get(status, f"HTTP {status}")


class SimulatorError(Exception):
    """Raised by route handlers; rendered as the `Error` shape with `status`."""

    def __init__(
        self,
        status: int,
        message: str | None = None,
        *,
        errors: Mapping[str, list[str]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status = status
        self.message = message or reason_for(status)
        self.errors = dict(errors) if errors else None
        self.headers = dict(headers) if headers else None
        super().__init__(self.message)


def error_body(
    status: int, message: str | None = None, *, errors: Mapping[str, list[str]] | None = None
) -> dict[str, object]:
    body: dict[str, object] = {
        "success": False,
        "error": reason_for(status),
        "message": message or reason_for(status),
    }
    if errors:
        body["errors"] = {field: list(msgs) for field, msgs in errors.items()}
    return body


def error_response(
    status: int,
    message: str | None = None,
    *,
    errors: Mapping[str, list[str]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(error_body(status, message, errors=errors), status_code=status, headers=headers)


async def _simulator_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SimulatorError)
    return error_response(exc.status, exc.message, errors=exc.errors, headers=exc.headers)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code in (404, 405):
        message = f"{reason_for(exc.status_code)}: {request.method} {request.url.path}"
    else:
        message = exc.detail if isinstance(exc.detail, str) and exc.detail else reason_for(exc.status_code)
    return error_response(exc.status_code, message, headers=exc.headers)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors: dict[str, list[str]] = {}
    for item in exc.errors():
        field = ".".join(str(part) for part in item.get("loc", ())[1:]) or "request"
        errors.setdefault(field, []).append(str(item.get("msg", "is invalid")))
    return error_response(400, "Validation failed", errors=errors)


async def _unexpected_error(_: Request, exc: Exception) -> JSONResponse:
    return error_response(500, f"Simulator bug: {type(exc).__name__}")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(SimulatorError, _simulator_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected_error)
