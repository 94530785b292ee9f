"""Object keys: `{prefix}{user_id}/{YYYY}/{MM}/{DD}/{HHMMSS}-{request_id}.{ext}` (UTC).

Everything a user owns sits under `{prefix}{user_id}/`, so a per-user delete is one recursive delete per
prefix, and `parse_key` lets a route check that a key handed back by a client belongs to the caller.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import NamedTuple

from voicegate.storage.retention import RETENTION_TABLE, AssetClass, deleted_key, rule_for

MAX_ID_LENGTH = 128

_ID_RE = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_ID_LENGTH}}}")
_EXT_RE = re.compile(r"[a-z0-9]{1,8}")
_CLASS_BY_PREFIX = {rule.prefix: rule.asset_class for rule in RETENTION_TABLE.values()}
_KEY_RE = re.compile(
    "(?P<prefix>" + "|".join(re.escape(prefix) for prefix in _CLASS_BY_PREFIX) + ")"
    rf"(?P<user_id>{_ID_RE.pattern})/"
    r"(?P<stamp>[0-9]{4}/[0-9]{2}/[0-9]{2}/[0-9]{6})"
    rf"-(?P<request_id>{_ID_RE.pattern})\.(?P<ext>{_EXT_RE.pattern})"
)


class ParsedKey(NamedTuple):
    asset_class: AssetClass
    user_id: str


def _check(value: str, pattern: re.Pattern[str], what: str) -> None:
    if not isinstance(value, str) or pattern.fullmatch(value) is None:
        raise ValueError(f"{what} contains characters not allowed in a storage key: {value!r}")


def object_key(asset_class: AssetClass, user_id: str, request_id: str, ext: str, now: datetime) -> str:
    """The key for one asset; `now` must be timezone-aware and is rendered in UTC."""
    _check(user_id, _ID_RE, "user_id")
    _check(request_id, _ID_RE, "request_id")
    _check(ext, _EXT_RE, "ext")
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    stamp = now.astimezone(UTC).strftime("%Y/%m/%d/%H%M%S")
    return f"{rule_for(asset_class).prefix}{user_id}/{stamp}-{request_id}.{ext}"


def user_prefixes(user_id: str) -> list[str]:
    """Every prefix that can hold the user's objects: `{prefix}{user_id}/` of each retention class, and the same
    under the soft-delete area (`_deleted/` + the original key), in that order."""
    _check(user_id, _ID_RE, "user_id")
    own = [f"{rule.prefix}{user_id}/" for rule in RETENTION_TABLE.values()]
    return [*own, *(deleted_key(prefix) for prefix in own)]


def parse_key(key: str) -> ParsedKey | None:
    """(asset_class, user_id) of a key made by `object_key`, or None when the key does not have that shape."""
    match = _KEY_RE.fullmatch(key)
    if match is None:
        return None
    try:
        datetime.strptime(match["stamp"], "%Y/%m/%d/%H%M%S")
    except ValueError:
        return None
    return ParsedKey(_CLASS_BY_PREFIX[match["prefix"]], match["user_id"])
