"""Logging set-up: one root handler renders every record, ours and libraries' (uvicorn's too), with structlog.

The stdlib loggers stay the API (`log.warning("event", extra={...})`): `structlog.stdlib.ProcessorFormatter` turns
each record into an event dict with its `extra=` fields, the request context bound with `structlog.contextvars`
(`request_id` and `user_id` by `voicegate.kit.requestctx` and `bind_user`, `upstream_request_id` by the upstream
client), the level, the logger's name and an ISO-8601 UTC timestamp. Production writes one JSON object per line
for the log pipeline; development writes aligned `key=value` text. Anything shaped like a credential is scrubbed
from the event and from every string value, the rendered traceback included, before anything is written.
"""

from __future__ import annotations

import logging
import re
import sys
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

LogFormat = Literal["json", "console"]

HANDLER_NAME = "voicegate"

_SECRET_PATTERNS = [
    re.compile(r"(?i)(bearer|token token=|x-api-key:?)\s*[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"vg_[0-9a-f]{12}_[A-Za-z0-9_-]+"),
    re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"),
    re.compile(r"whsec_[A-Za-z0-9+/=]{8,}"),
]
# A key in a body or a query string, `"api_key": "..."` or `byok_api_key=...` (a user's own Resemble key has no
# recognisable shape): the value goes, the name stays so the line still says what was there.
_SECRET_VALUE = re.compile(r"""(?i)((?:byok_)?api_key["']?\s*[:=]\s*["']?)[^"'\s,&}]+""")
# Fields whose value is a credential whatever it looks like (a user's own Resemble key has no recognisable shape).
SECRET_FIELDS = frozenset({"api_key", "byok_api_key", "authorization", "ciphertext"})


def redact(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub("[redacted]", text)
    return _SECRET_VALUE.sub(r"\1[redacted]", text)


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {
            key: "[redacted]" if str(key).lower() in SECRET_FIELDS else _redact_value(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redact_value(item) for item in value]
    return value


def redact_secrets(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """The event and every string value, nested ones too, with credentials replaced by `[redacted]`; a field named
    like a credential (`SECRET_FIELDS`) is replaced whole."""
    return _redact_value(event_dict)


# Record attributes that look like extras but are not: uvicorn's ANSI-coloured copy of each of its messages, and
# what a stdlib formatter that saw the record first (another handler's) stored on it. The event has the message.
_NOT_EXTRAS = ("color_message", "message", "asctime")


def _drop_non_extras(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    for key in _NOT_EXTRAS:
        event_dict.pop(key, None)
    return event_dict


class RedactingFilter(logging.Filter):
    """Scrubs the record itself, so other handlers on the root logger (pytest's, an error reporter) never see a
    credential in a message either; `redact_secrets` covers the extras and the context in our own output."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not isinstance(record.msg, str):  # a structlog event dict: `redact_secrets` handles it
            return True
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def bind_user(user_id: str) -> None:
    """Put the authenticated user's id on every later line of the current request."""
    structlog.contextvars.bind_contextvars(user_id=user_id)


def _json_default(value: Any) -> str:
    # Money stays exact (a Decimal as its text, never a float); anything else unknown is shown, not fatal.
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return repr(value)


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def build_formatter(log_format: LogFormat, *, colors: bool = False) -> structlog.stdlib.ProcessorFormatter:
    renderer: Processor = (
        structlog.processors.JSONRenderer(default=_json_default)
        if log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=colors, exception_formatter=structlog.dev.plain_traceback)
    )
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.ExtraAdder(), _drop_non_extras, *_shared_processors()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,  # before redaction: exception messages can hold credentials
            redact_secrets,
            renderer,
        ],
    )


def configure_logging(level: str = "INFO", log_format: LogFormat = "console") -> None:
    """Install (once) or re-format the root handler; safe to call for every app the process creates."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if h.name == HANDLER_NAME), None)
    if handler is None:
        handler = logging.StreamHandler()
        handler.name = HANDLER_NAME
        handler.addFilter(RedactingFilter())
        root.addHandler(handler)
    handler.setFormatter(build_formatter(log_format, colors=log_format == "console" and sys.stderr.isatty()))
    logging.getLogger("voicegate").setLevel(level.upper())
    # structlog's own loggers, should a module use one, end in the same handler through the stdlib.
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
