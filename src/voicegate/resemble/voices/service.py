"""Cloned voices: create (with the speaker's consent), build (pays the first month), delete, and what we keep.

A voice is an owned object (`Kind.VOICE`) plus a voice record (`repository`): its type, the consent given, its
build status as last seen upstream, and its monthly billing (`subscriptions`). The build is asynchronous at
Resemble (`initializing -> running -> finished`); whoever first sees it finished (a read of the voice, or the
periodic refresh) keeps Resemble's voice item under `voice-models/` (permanent) and marks it built.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from voicegate.billing.pricing import RateCard
from voicegate.config import Settings
from voicegate.errors import NotFound, UpstreamError
from voicegate.kit.ids import new_id
from voicegate.kit.time import utc_now
from voicegate.resemble.metering import abandon, billing_view
from voicegate.resemble.ownership import repository as owned
from voicegate.resemble.ownership import service as ownership
from voicegate.resemble.ownership.calls import CallName, Scope, call
from voicegate.resemble.ownership.kinds import SPECS, Kind
from voicegate.resemble.ownership.repository import OwnedResource
from voicegate.resemble.voices import repository, subscriptions
from voicegate.resemble.voices.repository import VoiceState
from voicegate.resemble.voices.schemas import VoiceBuild, VoiceCreate
from voicegate.storage import service as storage_service
from voicegate.storage.base import StorageBackend
from voicegate.storage.retention import AssetClass

log = logging.getLogger(__name__)

BUILT_WORDS = frozenset({"finished", "ready", "completed", "trained"})
FAILED_WORDS = frozenset({"failed", "error"})


@dataclass(frozen=True)
class VoiceDeps:
    scope: Scope
    storage: StorageBackend
    settings: Settings
    rate_card: RateCard
    outbound: httpx.AsyncClient

    @property
    def hold_ttl(self) -> timedelta:
        return timedelta(seconds=self.settings.hold_ttl_s)

    @property
    def presign_ttl(self) -> timedelta:
        return timedelta(seconds=self.settings.presign_ttl_s)


def _name(verb: str) -> CallName:
    return CallName("voices", f"{verb}_voice")


async def create_voice(deps: VoiceDeps, body: VoiceCreate) -> dict[str, Any]:
    """Create the voice upstream with the caller's consent, then record owner and voice in one transaction; if that
    write fails the voice is deleted upstream again (nobody may keep an unowned voice in the shared account)."""
    scope = deps.scope
    payload: dict[str, Any] = {"name": body.name, "consent": body.consent_text, "voice_type": body.voice_type}
    payload.update(body.model_dump(include={"description", "language"}, exclude_none=True))
    answer = await call(scope, "POST", SPECS[Kind.VOICE].collection, _name("create"), json_body=payload)
    item = ownership.item_of(answer)
    upstream_id = ownership.upstream_id_of(item)
    if upstream_id is None:
        raise UpstreamError(extra={"reason": "created voice without an id"})
    await record_new_voice(scope, upstream_id, voice_type=body.voice_type, consent_text=body.consent_text)
    state = await _state(scope.session, upstream_id)
    return {"success": True, "item": with_subscription(item, state, deps.rate_card)}


async def record_new_voice(scope: Scope, upstream_id: str, *, voice_type: str, consent_text: str | None) -> None:
    async def voice_record(row: owned.Row) -> None:
        repository.add_voice(
            scope.session, resource_id=row.id, user_id=scope.user_id, voice_type=voice_type, consent_text=consent_text
        )

    await ownership.remember(scope, Kind.VOICE, upstream_id, parent=None, also=voice_record)


async def _state(session: AsyncSession, upstream_id: str) -> VoiceState | None:
    state = await repository.state_by_upstream_id(session, upstream_id)
    await session.commit()
    return state


def with_subscription(item: dict[str, Any], state: VoiceState | None, rate_card: RateCard) -> dict[str, Any]:
    if state is None:
        return item
    return {**item, "subscription": subscriptions.view(state, rate_card)}


async def get_voice(deps: VoiceDeps, voice: OwnedResource) -> dict[str, Any]:
    """Resemble's item for the caller's voice, with its subscription; notices a finished build."""
    item = ownership.item_of(await ownership.fetch(deps.scope, voice))
    state = await _state(deps.scope.session, voice.upstream_id)
    if state is not None and state.build_status == "building":
        await observe_build(deps.scope.session, deps.storage, state, item)
        state = await _state(deps.scope.session, voice.upstream_id)
    return {"success": True, "item": with_subscription(item, state, deps.rate_card)}


async def list_voices(deps: VoiceDeps, *, page: int, page_size: int) -> dict[str, Any]:
    listing = await ownership.list_page(deps.scope, Kind.VOICE, page=page, page_size=page_size)
    states = await repository.states_by_upstream_ids(
        deps.scope.session, [str(item.get("uuid")) for item in listing["items"]]
    )
    await deps.scope.session.commit()
    items = [with_subscription(item, states.get(str(item.get("uuid"))), deps.rate_card) for item in listing["items"]]
    return {**listing, "items": items}


async def build_voice(deps: VoiceDeps, voice: OwnedResource, body: VoiceBuild) -> dict[str, Any]:
    """Start training. The month the build falls in is paid first (hold -> build -> capture + the month's row, one
    transaction); a rebuild within a paid month is free. A build Resemble refuses charges nothing."""
    scope = deps.scope
    state = await _state(scope.session, voice.upstream_id)
    if state is None:
        raise NotFound("Voice not found")
    if body.recording_ids is not None:
        await _select_recordings(scope, voice, body.recording_ids)
    path = f"{SPECS[Kind.VOICE].item_path(voice.upstream_id, None)}/build"
    now = utc_now()
    if subscriptions.is_current(state, now):
        answer = await call(scope, "POST", path, _name("build"), json_body={"fill": False})
        await repository.change(scope.session, state.id, build_status="building")
        await scope.session.commit()
        return await _built(deps, voice, answer, request_id=None, billing=None)

    anchor = state.billing_anchor_at or now
    seen: dict[str, str] = {}

    async def upstream_build() -> dict[str, Any]:
        return await scope.upstream.request_json(
            "POST", path, json={"fill": False}, idempotent=False, operation="build_voice"
        )

    async def building(request_id: str) -> str:
        seen["request"] = request_id
        await repository.change(
            scope.session, state.id, build_status="building", billing_anchor_at=anchor, suspended_at=None
        )
        return state.id

    try:
        metered, answer = await subscriptions.metered_month(
            scope.session,
            deps.rate_card,
            user_id=scope.user_id,
            voice_type=state.voice_type,
            operation="build_voice",
            hold_ttl=deps.hold_ttl,
            anchor=anchor,
            index=subscriptions.period_at(anchor, now),
            call=upstream_build,
            voice_of=building,
        )
    except IntegrityError:
        # A concurrent build paid this month first: this one was a rebuild within a paid month after all.
        await scope.session.rollback()
        await _release_losing_hold(scope.session, seen.get("request"))
        return await _built(deps, voice, {"success": True}, request_id=None, billing=None)
    return await _built(deps, voice, answer, request_id=metered.request.id, billing=billing_view(metered.usage))


async def _release_losing_hold(session: AsyncSession, request_id: str | None) -> None:
    if request_id is not None:
        await abandon(session, request_id, reason="voice month already paid by a concurrent build")


async def _built(
    deps: VoiceDeps, voice: OwnedResource, answer: dict[str, Any], *, request_id: str | None, billing: Any
) -> dict[str, Any]:
    state = await _state(deps.scope.session, voice.upstream_id)
    assert state is not None
    return {
        "success": bool(answer.get("success", True)),
        "message": answer.get("message"),
        "voice_uuid": voice.upstream_id,
        "request_id": request_id,
        "billing": billing,
        "subscription": subscriptions.view(state, deps.rate_card),
    }


async def _select_recordings(scope: Scope, voice: OwnedResource, recording_ids: list[str]) -> None:
    """Build from exactly `recording_ids`: each must be the caller's recording of this voice (else 404, before any
    upstream call); the voice's other recordings are set inactive and these active."""
    mine = await owned.page(scope.session, Kind.RECORDING, scope.user_id, parent_id=voice.id, offset=0, limit=10_000)
    await scope.session.commit()
    known = {row.upstream_id: row for row in mine}
    missing = [rid for rid in recording_ids if rid not in known]
    if missing:
        raise NotFound(f"Recording not found: {missing[0]}")
    wanted = set(recording_ids)
    for row in mine:
        await ownership.update(scope, row, {"is_active": row.upstream_id in wanted})
    await scope.session.commit()


async def delete_voice(scope: Scope, voice: OwnedResource) -> None:
    """Delete upstream, then retire the voice and its recordings; renewals stop with it. Our copies of the
    recordings and of the model stay (permanent classes) until the user's data is erased."""
    await ownership.delete(scope, voice)


async def observe_build(session: AsyncSession, storage: StorageBackend, state: VoiceState, item: dict[str, Any]) -> str:
    """Record a build's end from Resemble's voice item: keep the item under `voice-models/` and mark it built (the
    first observer wins, by a conditional update), or mark it failed. Returns the build status now known."""
    status = str(item.get("status") or item.get("voice_status") or "").lower()
    if status in FAILED_WORDS:
        await repository.finish_build(session, state.id, "failed")
        await session.commit()
        return "failed"
    if status not in BUILT_WORDS:
        return "building"
    asset = await storage_service.put_asset(
        storage,
        user_id=state.user_id,
        request_id=new_id(),
        asset_class=AssetClass.VOICE_MODELS,
        data=orjson.dumps(item, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS),
        ext="json",
        content_type="application/json",
    )
    claimed = await repository.finish_build(session, state.id, "built", model_asset_id=asset.id if asset else None)
    if not claimed:
        await session.rollback()
        if asset is not None:
            await storage_service.delete_quietly(storage, asset.storage_key)
        return "built"
    if asset is not None:
        session.add(asset)
    await session.commit()
    log.info("voice_built", extra={"voice_uuid": state.upstream_id, "model_asset_id": asset.id if asset else None})
    return "built"
