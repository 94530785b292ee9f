"""Bucket lifecycle rules derived from the retention table: the bucket's own backstop behind the expiry task.

One rule per prefix that expires, deleting objects after the class's TTL plus the soft-delete window (the expiry
task moves them to `_deleted/` at the TTL; the rule only catches what it missed), none on permanent prefixes, and
one on `_deleted/` after the window. S3 and R2 accept the same `PutBucketLifecycleConfiguration` call; a bucket
counts days from an object's creation, and moving an object to `_deleted/` creates it anew.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from voicegate.storage.retention import DELETED_PREFIX, RETENTION_TABLE, SOFT_DELETE_WINDOW

RULE_ID_PREFIX = "voicegate-"


@dataclass(frozen=True, slots=True)
class BucketRule:
    id: str
    prefix: str
    expiration_days: int | None
    enabled: bool = True

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _rule(prefix: str, days: int) -> BucketRule:
    return BucketRule(id=f"{RULE_ID_PREFIX}{prefix.rstrip('/')}", prefix=prefix, expiration_days=days)


def desired_rules() -> list[BucketRule]:
    margin = SOFT_DELETE_WINDOW.days
    rules = [_rule(rule.prefix, rule.ttl.days + margin) for rule in RETENTION_TABLE.values() if rule.ttl is not None]
    return [*rules, _rule(DELETED_PREFIX, margin)]


@dataclass(frozen=True, slots=True)
class RuleDiff:
    add: list[BucketRule]
    change: list[tuple[BucketRule, BucketRule]]  # (what the bucket has, what it should have)
    remove: list[BucketRule]
    unchanged: list[BucketRule]

    @property
    def in_sync(self) -> bool:
        return not (self.add or self.change or self.remove)

    def as_dict(self) -> dict[str, object]:
        return {
            "in_sync": self.in_sync,
            "add": [rule.as_dict() for rule in self.add],
            "change": [{"current": old.as_dict(), "desired": new.as_dict()} for old, new in self.change],
            "remove": [rule.as_dict() for rule in self.remove],
            "unchanged": [rule.id for rule in self.unchanged],
        }


def diff(desired: Sequence[BucketRule], current: Sequence[BucketRule]) -> RuleDiff:
    """What applying `desired` changes, rule by id. Applying replaces the bucket's whole configuration, so rules
    the bucket has and the table does not are listed as removed."""
    have = {rule.id: rule for rule in current}
    want = {rule.id: rule for rule in desired}
    return RuleDiff(
        add=[rule for rule in desired if rule.id not in have],
        change=[(have[rule.id], rule) for rule in desired if rule.id in have and have[rule.id] != rule],
        remove=[rule for rule in current if rule.id not in want],
        unchanged=[rule for rule in desired if have.get(rule.id) == rule],
    )
