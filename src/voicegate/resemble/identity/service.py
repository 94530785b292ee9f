"""Identities in the shared Resemble account, kept apart per user.

- enroll: billed one enrollment; the identity's ownership row, carrying Resemble's item (it has no read of one
  identity), is written in the charge's transaction. When the identity exists upstream but that transaction does
  not happen, it is deleted upstream again and the hold given back.
- search: billed one search. Resemble answers the closest identities of the whole account, so it is asked for as
  many as it gives (20); only the caller's live identities are kept, closest first, cut to the caller's `top_k`.
  Fewer come back when the caller owns fewer among them: never someone else's.
- get / list: from the caller's rows, no upstream call; delete: upstream first, then the row.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy.exc import SQLAlchemyError

from voicegate.billing.pricing import Quote, RateCard
from voicegate.config import Settings
from voicegate.db.models import ProviderResembleResource
from voicegate.errors import UnsupportedMedia, UpstreamError
from voicegate.kit import netguard
from voicegate.resemble import media, metering
from voicegate.resemble.identity import repository
from voicegate.resemble.identity.schemas import MAX_TOP_K, IdentityEnroll, IdentitySearch, Match
from voicegate.resemble.metering import Metered, billing_view, metered_call
from voicegate.resemble.ownership import repository as ownership_repository
from voicegate.resemble.ownership import service as ownership
from voicegate.resemble.ownership.calls import Scope
from voicegate.resemble.ownership.kinds import SPECS, Kind
from voicegate.resemble.ownership.repository import OwnedResource
from voicegate.storage.base import StorageBackend

COLLECTION = SPECS[Kind.IDENTITY].collection
_MATCHES = TypeAdapter(dict[str, Match])

Call = Callable[[], Awaitable[dict[str, Any]]]
Keep = Callable[[str, dict[str, Any]], Awaitable[Sequence[object]]]


@dataclass(frozen=True)
class IdentityDeps:
    scope: Scope
    storage: StorageBackend
    settings: Settings
    rate_card: RateCard


async def enroll(deps: IdentityDeps, body: IdentityEnroll) -> dict[str, Any]:
    scope = deps.scope
    payload = {"name": body.name, "url": await _source_url(deps, body.url)}
    created: dict[str, str] = {}

    async def call() -> dict[str, Any]:
        answer = await scope.upstream.request_json(
            "POST", COLLECTION, json=payload, idempotent=False, operation="enroll_identity"
        )
        uuid = ownership.upstream_id_of(ownership.item_of(answer))
        if uuid is None:
            raise UpstreamError(extra={"reason": "created identity without an id"})
        created["identity"] = uuid
        return answer

    async def keep(request_id: str, answer: dict[str, Any]) -> list[object]:
        created["request"] = request_id
        row = ProviderResembleResource(
            kind=Kind.IDENTITY.value,
            upstream_id=created["identity"],
            user_id=scope.user_id,
            snapshot=ownership.item_of(answer),
        )
        return [row]

    try:
        metered, answer = await _billed(deps, "identity_enroll", "enroll_identity", call, keep)
    except BaseException as exc:
        if "identity" in created:
            await _undo_enrollment(scope, created, exc)
        if isinstance(exc, SQLAlchemyError):
            raise ownership.OwnershipUnavailable() from exc
        raise
    return {
        "success": bool(answer.get("success", True)),
        "item": ownership.item_of(answer),
        "request_id": metered.request.id,
        "billing": billing_view(metered.usage),
    }


async def search(deps: IdentityDeps, body: IdentitySearch) -> dict[str, Any]:
    scope = deps.scope
    payload = {"url": await _source_url(deps, body.url), "top_k": MAX_TOP_K}
    kept: dict[str, Any] = {}

    async def call() -> dict[str, Any]:
        answer = await scope.upstream.request_json(
            "POST", f"{COLLECTION}/search", json=payload, idempotent=False, operation="search_identity"
        )
        try:
            matches = _MATCHES.validate_python(answer.get("item") or {})
        except ValidationError as exc:
            raise UpstreamError(extra={"reason": "search answer without matches"}) from exc
        # Filtered before the charge: a search whose matches cannot be checked is not billed.
        owned = await repository.owned_among(scope.session, scope.user_id, matches.keys())
        mine = sorted(
            ((uuid, match) for uuid, match in matches.items() if uuid in owned and math.isfinite(match.distance)),
            key=lambda pair: -pair[1].distance,
        )
        kept.update((uuid, match.model_dump(exclude_none=True)) for uuid, match in mine[: body.top_k])
        return {**answer, "item": dict(kept)}  # the request row keeps only what the caller may see, too

    metered, answer = await _billed(deps, "identity_search", "search_identity", call)
    return {
        "success": bool(answer.get("success", True)),
        "modality": str(answer.get("modality") or "audio"),
        "item": kept,
        "request_id": metered.request.id,
        "billing": billing_view(metered.usage),
    }


async def get(scope: Scope, identity: OwnedResource) -> dict[str, Any]:
    return {"success": True, "item": await repository.snapshot(scope.session, identity.id)}


async def list_page(scope: Scope, *, page: int, page_size: int) -> dict[str, Any]:
    session = scope.session
    items = await repository.page(session, scope.user_id, offset=(page - 1) * page_size, limit=page_size)
    total = await ownership_repository.count(session, Kind.IDENTITY, scope.user_id, parent_id=None)
    return ownership.page_envelope(items, page=page, page_size=page_size, total=total)


async def _source_url(deps: IdentityDeps, url: str) -> str:
    """What Resemble should fetch: a fresh presigned link to the caller's own stored audio (someone else's is a
    404), or a public URL that passed the SSRF guard."""
    scope, settings = deps.scope, deps.settings
    asset = await media.resolve_owned_media(scope.session, deps.storage, settings, scope.user_id, url)
    await scope.session.commit()  # end the read: the billed call's own transactions follow
    if asset is None:
        return await netguard.check_public_url(url, allow_private=settings.outbound_allow_private_networks)
    if not (asset.content_type or "").startswith("audio/"):
        raise UnsupportedMedia("url must name audio: a voice is enrolled and searched by its sound")
    ttl = timedelta(seconds=settings.presign_ttl_s)
    return await deps.storage.presigned_url(asset.storage_key, ttl, filename=asset.file_name)


async def _billed(
    deps: IdentityDeps, rate_key: str, operation: str, call: Call, keep: Keep | None = None
) -> tuple[Metered, dict[str, Any]]:
    """One billed identity call: each is one unit (an enrollment, a search) on the rate card."""
    quote: Quote = deps.rate_card.quote(rate_key, Decimal(1))
    return await metered_call(
        deps.scope.session,
        user_id=deps.scope.user_id,
        capability="identity",
        operation=operation,
        estimate=quote,
        hold_ttl=timedelta(seconds=deps.settings.hold_ttl_s),
        call=call,
        price=lambda answer: (quote, answer),
        keep=keep,
    )


async def _undo_enrollment(scope: Scope, created: dict[str, str], cause: BaseException) -> None:
    undone = await ownership.undo_create(scope, Kind.IDENTITY, created["identity"], parent=None, cause=cause)
    if undone and "request" in created:
        await metering.abandon(
            scope.session, created["request"], reason="identity undone: its owner could not be recorded"
        )
