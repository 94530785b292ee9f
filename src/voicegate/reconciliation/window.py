"""The reconciliation window: `<n>m`, `<n>h` or `<n>d`, from 1 minute to 31 days (seeds: 24 h rolling by default)."""

from __future__ import annotations

import re
from datetime import timedelta

from voicegate.errors import Unprocessable

DEFAULT_WINDOW = "24h"
MIN_WINDOW = timedelta(minutes=1)
MAX_WINDOW = timedelta(days=31)
_PATTERN = re.compile(r"(\d{1,6})([mhd])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


class InvalidWindow(Unprocessable):
    """A `window` that is not `<n>m|h|d` or falls outside the bounds; 422 like every other bad parameter."""


def parse_window(text: str) -> timedelta:
    match = _PATTERN.fullmatch(text.strip().lower())
    if match is None:
        raise InvalidWindow(f"window must look like 30m, 24h or 7d, not {text[:40]!r}")
    window = timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    if not MIN_WINDOW <= window <= MAX_WINDOW:
        raise InvalidWindow("window must be between 1m and 31d")
    return window
