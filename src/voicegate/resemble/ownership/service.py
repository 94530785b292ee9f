"""The rules every owned upstream object follows, whatever its kind.

- create: call upstream, then record the owner in its own transaction; if that write fails, delete the new object
  upstream (compensation) and answer 503, so the shared account never keeps an object nobody owns;
- read / update: only after `dependencies.Owned` has resolved the caller's row; an upstream 404 retires the row
  (reconciliation), so an object deleted at Resemble by other means, or a crash between an upstream delete and
  our write, never leaves a row that points at nothing for longer than the next read;
- delete: upstream first, then the row and its children's rows (a 404 from upstream also counts as gone);
- list: served from the ownership table, paginated here, each item fetched from upstream.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import anyio
from sqlalchemy.exc import SQLAlchemyError

from voicegate.errors import GatewayError, NotFound, UpstreamError
from voicegate.resemble.ownership import repository
from voicegate.resemble.ownership.calls import CallName, Outcome, Scope, attempt, call, is_gone, record
from voicegate.resemble.ownership.kinds import SPECS, Kind, KindSpec
from voicegate.resemble.ownership.repository import OwnedResource

log = logging.getLogger(__name__)

LIST_FETCH_CONCURRENCY = 8  # items of one page fetched at once: fast pages without a burst on the shared key


class OwnershipUnavailable(GatewayError):
    """The object was created upstream but its owner could not be recorded; it has been deleted again."""

    status_code = 503
    detail = "Could not record the new object; nothing was kept, please retry"


def upstream_id_of(item: Mapping[str, Any]) -> str | None:
    """The id Resemble gave an object: `uuid`, `id` (agent tools and webhooks) or `agent.uuid` (agents)."""
    nested = item.get("agent")
    value = item.get("uuid", item.get("id", nested.get("uuid") if isinstance(nested, dict) else None))
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value)
    return text if 0 < len(text) <= 64 else None


def item_of(body: Mapping[str, Any]) -> dict[str, Any]:
    item = body.get("item")
    if not isinstance(item, dict):
        raise UpstreamError(extra={"reason": "upstream answer without an item"})
    return item


async def create(
    scope: Scope, kind: Kind, payload: Mapping[str, Any], *, parent: OwnedResource | None = None
) -> dict[str, Any]:
    """Create the object upstream and record the caller as its owner; returns Resemble's answer."""
    spec = SPECS[kind]
    path = spec.collection_path(parent.upstream_id if parent else None)
    body = await call(scope, "POST", path, _name(spec, "create"), json_body=dict(payload))
    item = item_of(body)
    upstream_id = upstream_id_of(item)
    if upstream_id is None:
        raise UpstreamError(extra={"reason": "created object without an id"})
    await remember(scope, kind, upstream_id, parent=parent)
    return body


async def remember(
    scope: Scope,
    kind: Kind,
    upstream_id: str,
    *,
    parent: OwnedResource | None,
    also: Callable[[repository.Row], Awaitable[None]] | None = None,
) -> None:
    """Commit the ownership row of an object that now exists upstream, or undo the object (see `compensate`).
    `also(row)` adds what belongs with the row (a voice's record, a recording's stored audio) to its transaction."""
    try:
        row = repository.add(scope.session, kind, upstream_id, scope.user_id, parent.id if parent else None)
        if also is not None:
            await scope.session.flush()
            await also(row)
        await scope.session.commit()
    except SQLAlchemyError as exc:
        await scope.session.rollback()
        await compensate(scope, kind, upstream_id, parent=parent, cause=exc)
        raise OwnershipUnavailable() from exc


async def compensate(
    scope: Scope, kind: Kind, upstream_id: str, *, parent: OwnedResource | None, cause: BaseException
) -> None:
    """Delete an object nobody owns from the shared account. The database just failed us, so nothing is written:
    the log lines are the record (and name the object when the delete fails, for an operator to remove)."""
    spec = SPECS[kind]
    path = spec.item_path(upstream_id, parent.upstream_id if parent else None)
    outcome = await attempt(scope, "DELETE", path, _name(spec, "compensate"))
    event = {"kind": kind.value, "upstream_id": upstream_id, "user_id": scope.user_id, "cause": type(cause).__name__}
    if outcome.error is None or is_gone(outcome.error):
        log.error("ownership_write_failed_object_deleted", extra=event)
    else:
        log.critical("ownership_write_failed_orphan_left", extra={**event, "error": str(outcome.error.detail)})


async def undo_create(
    scope: Scope, kind: Kind, upstream_id: str, *, parent: OwnedResource | None, cause: BaseException
) -> bool:
    """After the transaction that was to record a new object failed: delete the object upstream, unless its row
    was committed after all (the failure came later). Returns whether the object was undone."""
    await scope.session.rollback()
    try:
        recorded = await repository.is_recorded(scope.session, kind, upstream_id)
    except SQLAlchemyError:
        recorded = False
    if recorded:
        return False
    await compensate(scope, kind, upstream_id, parent=parent, cause=cause)
    return True


async def fetch(scope: Scope, resource: OwnedResource) -> dict[str, Any]:
    """Resemble's answer for one owned object; an upstream 404 retires the row and answers 404."""
    spec = SPECS[resource.kind]
    return await _on_existing(
        scope, resource, "GET", spec.item_path(resource.upstream_id, resource.parent_upstream_id), "get"
    )


async def update(scope: Scope, resource: OwnedResource, payload: Mapping[str, Any]) -> dict[str, Any]:
    spec = SPECS[resource.kind]
    path = spec.item_path(resource.upstream_id, resource.parent_upstream_id)
    return await _on_existing(scope, resource, spec.update_method, path, "update", json_body=dict(payload))


async def delete(scope: Scope, resource: OwnedResource) -> None:
    """Delete upstream, then retire the row and its children's; a 404 upstream means it is already gone."""
    spec = SPECS[resource.kind]
    path = spec.item_path(resource.upstream_id, resource.parent_upstream_id)
    outcome = await attempt(scope, "DELETE", path, _name(spec, "delete"))
    record(scope, outcome)
    if outcome.error is not None and not is_gone(outcome.error):
        await scope.session.commit()
        raise outcome.error
    try:
        await repository.mark_deleted(scope.session, resource.id)
        await scope.session.commit()
    except SQLAlchemyError:
        # The object is gone upstream, which is what the caller asked; the row still points at it, and the next
        # read that meets Resemble's 404 retires it (the same path as an object deleted by other means).
        await scope.session.rollback()
        log.warning(
            "ownership_delete_not_recorded",
            extra={"kind": resource.kind.value, "upstream_id": resource.upstream_id, "user_id": scope.user_id},
        )


async def list_page(
    scope: Scope,
    kind: Kind,
    *,
    page: int,
    page_size: int,
    parent: OwnedResource | None = None,
    parent_as: str | None = None,
) -> dict[str, Any]:
    """One page of the caller's objects of `kind` in the envelope `{success, page, num_pages, page_size,
    total_count, items}`. Objects found gone upstream are retired and the page is read again without them.
    `parent_as` names the field that carries each item's parent id (flat lists of nested kinds)."""
    spec = SPECS[kind]
    parent_id = parent.id if parent else None
    while True:
        rows = await repository.page(
            scope.session, kind, scope.user_id, parent_id=parent_id, offset=(page - 1) * page_size, limit=page_size
        )
        total = await repository.count(scope.session, kind, scope.user_id, parent_id=parent_id)
        await scope.session.commit()  # end the read: upstream calls follow, and SQLite cannot upgrade a stale read
        outcomes = await _fetch_all(scope, spec, rows)
        for outcome in outcomes:
            record(scope, outcome)
        gone = [row for row, outcome in zip(rows, outcomes, strict=True) if outcome.error and is_gone(outcome.error)]
        failed = next((o.error for o in outcomes if o.error is not None and not is_gone(o.error)), None)
        if failed is not None:
            await scope.session.commit()
            raise failed
        if not gone:
            break
        for row in gone:  # each round retires at least one row, so this ends
            await repository.mark_deleted(scope.session, row.id)
        await scope.session.commit()
    items = [item_of(outcome.result or {}) for outcome in outcomes]
    if parent_as is not None:
        items = [{**item, parent_as: row.parent_upstream_id} for item, row in zip(items, rows, strict=True)]
    return page_envelope(items, page=page, page_size=page_size, total=total)


def page_envelope(items: list[dict[str, Any]], *, page: int, page_size: int, total: int) -> dict[str, Any]:
    """The list shape of every owned kind, as Resemble pages its own lists."""
    return {
        "success": True,
        "page": page,
        "num_pages": max(1, math.ceil(total / page_size)),
        "page_size": page_size,
        "total_count": total,
        "items": items,
    }


async def _on_existing(
    scope: Scope, resource: OwnedResource, method: str, path: str, verb: str, *, json_body: Any = None
) -> dict[str, Any]:
    spec = SPECS[resource.kind]
    outcome = await attempt(scope, method, path, _name(spec, verb), json_body=json_body)
    record(scope, outcome)
    if outcome.error is not None:
        if is_gone(outcome.error):
            await repository.mark_deleted(scope.session, resource.id)
            await scope.session.commit()
            raise NotFound(f"{spec.label} not found")
        await scope.session.commit()
        raise outcome.error
    assert outcome.result is not None
    return outcome.result


async def _fetch_all(scope: Scope, spec: KindSpec, rows: list[OwnedResource]) -> list[Outcome]:
    outcomes: list[Outcome | None] = [None] * len(rows)
    limiter = anyio.CapacityLimiter(LIST_FETCH_CONCURRENCY)

    async def fetch_one(index: int, row: OwnedResource) -> None:
        async with limiter:
            path = spec.item_path(row.upstream_id, row.parent_upstream_id)
            outcomes[index] = await attempt(scope, "GET", path, _name(spec, "get"))

    async with anyio.create_task_group() as group:
        for index, row in enumerate(rows):
            group.start_soon(fetch_one, index, row)
    return [outcome for outcome in outcomes if outcome is not None]


def _name(spec: KindSpec, verb: str) -> CallName:
    return CallName(spec.capability, f"{verb}_{spec.kind.value}")
