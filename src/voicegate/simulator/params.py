"""Validation helpers that collect field errors into Resemble's `errors: {field: [messages]}` map."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import SimulatorError

_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})


class FieldErrors:
    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(message)

    def raise_if_any(self, status: int = 400) -> None:
        if self.errors:
            summary = "; ".join(f"{field} {msgs[0]}" for field, msgs in self.errors.items())
            raise SimulatorError(status, f"Invalid request: {summary}", errors=self.errors)


def int_query(
    query: Mapping[str, str],
    name: str,
    errors: FieldErrors,
    *,
    default: int | None = None,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int | None:
    raw = query.get(name)
    if raw is None or raw == "":
        if default is None:
            errors.add(name, "is required")
        return default
    try:
        value = int(raw)
    except ValueError:
        errors.add(name, "must be an integer")
        return default
    if minimum is not None and value < minimum:
        errors.add(name, f"must be greater than or equal to {minimum}")
    elif maximum is not None and value > maximum:
        errors.add(name, f"must be less than or equal to {maximum}")
    return value


def bool_query(query: Mapping[str, str], name: str, errors: FieldErrors, *, default: bool = False) -> bool:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    errors.add(name, "must be a boolean")
    return default


def optional_str(body: Mapping[str, Any], name: str, errors: FieldErrors) -> str | None:
    value = body.get(name)
    if value is None or isinstance(value, str):
        return value
    errors.add(name, "must be a string")
    return None


def optional_bool(body: Mapping[str, Any], name: str, errors: FieldErrors, *, default: bool = False) -> bool:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    errors.add(name, "must be a boolean")
    return default
