"""Voice design: one billed generation of candidate samples (mirrored to `voice-design/`, 14 days), and the
promotion of one candidate to a rapid voice the caller owns (which pays that voice's first month).

Resemble has shipped two answer shapes for a generation (supplement, section 1); `candidates_of` reads both.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from voicegate.db.models import ProviderResembleAsset, ProviderResembleResource, ProviderResembleVoice
from voicegate.errors import GatewayError, UpstreamError
from voicegate.kit import media
from voicegate.kit.ids import new_id
from voicegate.kit.time import isoformat_z, utc_now
from voicegate.resemble import metering
from voicegate.resemble.metering import billing_view, metered_call
from voicegate.resemble.ownership import repository as owned
from voicegate.resemble.ownership import service as ownership
from voicegate.resemble.ownership.kinds import SPECS, Kind
from voicegate.resemble.ownership.repository import OwnedResource
from voicegate.resemble.voice_design.schemas import CandidatesCreate, PromoteCreate
from voicegate.resemble.voices import repository as voices
from voicegate.resemble.voices import subscriptions
from voicegate.resemble.voices.service import VoiceDeps
from voicegate.storage import service as storage_service
from voicegate.storage.retention import AssetClass

log = logging.getLogger(__name__)

CAPABILITY = "voice_design"


@dataclass(frozen=True)
class Sample:
    index: int
    url: str | None


@dataclass(frozen=True)
class Design:
    uuid: str
    samples: tuple[Sample, ...]


def candidates_of(answer: dict[str, Any]) -> Design:
    """The design id and its samples from either shape Resemble has answered with:
    `{"voice_candidates": [{"audio_url", "voice_sample_index", "uuid"}, ...]}` or
    `{"voice_candidates": {"voice_design_model_uuid", "samples": [{"audio_url", "sample_index"}, ...]}}`."""
    found = answer.get("voice_candidates")
    uuid: object = None
    rows: list[Any] = []
    index_field = "voice_sample_index"
    if isinstance(found, list):
        rows = found
        uuid = next((row.get("uuid") for row in rows if isinstance(row, dict) and row.get("uuid")), None)
    elif isinstance(found, dict):
        uuid, index_field = found.get("voice_design_model_uuid"), "sample_index"
        rows = found.get("samples") if isinstance(found.get("samples"), list) else []  # type: ignore[assignment]
    samples = []
    for position, row in enumerate(rows):
        if not isinstance(row, dict):
            continue
        index = row.get(index_field, position)
        url = row.get("audio_url")
        samples.append(Sample(index if isinstance(index, int) else position, url if isinstance(url, str) else None))
    if not isinstance(uuid, str) or not uuid or len(uuid) > 64 or not samples:
        raise UpstreamError(extra={"reason": "voice design answer without a design id or samples"})
    return Design(uuid, tuple(sorted(samples, key=lambda sample: sample.index)))


async def generate(deps: VoiceDeps, body: CandidatesCreate) -> dict[str, Any]:
    scope = deps.scope
    quote = deps.rate_card.quote(CAPABILITY, Decimal(1))
    payload: dict[str, Any] = {"user_prompt": body.description}
    if body.params is not None:
        payload.update(body.params.model_dump(exclude_none=True))
    seen: dict[str, Design] = {}
    kept: dict[int, ProviderResembleAsset] = {}

    async def upstream_generate() -> dict[str, Any]:
        answer = await scope.upstream.request_json(
            "POST", SPECS[Kind.VOICE_DESIGN].collection, json=payload, idempotent=False, operation="generate_design"
        )
        seen["design"] = candidates_of(answer)
        return answer

    async def keep(request_id: str, _: dict[str, Any]) -> list[object]:
        design = seen["design"]
        for sample in design.samples:
            asset = await _mirror(deps, request_id, sample)
            if asset is not None:
                kept[sample.index] = asset
        owner = ProviderResembleResource(kind=Kind.VOICE_DESIGN.value, upstream_id=design.uuid, user_id=scope.user_id)
        return [owner, *kept.values()]

    metered, _ = await metered_call(
        scope.session,
        user_id=scope.user_id,
        capability=CAPABILITY,
        operation="generate_candidates",
        estimate=quote,
        hold_ttl=deps.hold_ttl,
        call=upstream_generate,
        price=lambda answer: (quote, answer),
        keep=keep,
    )
    design = seen["design"]
    candidates = []
    for sample in design.samples:
        asset = kept.get(sample.index)
        link = await storage_service.presign(deps.storage, asset, deps.presign_ttl) if asset else None
        candidates.append(
            {
                "index": sample.index,
                "audio_url": link.url if link else None,
                "expires_at": isoformat_z(asset.expires_at) if asset and asset.expires_at else None,
                "resemble_url": sample.url,
            }
        )
    return {
        "design_uuid": design.uuid,
        "candidates": candidates,
        "request_id": metered.request.id,
        "billing": billing_view(metered.usage),
    }


async def _mirror(deps: VoiceDeps, request_id: str, sample: Sample) -> ProviderResembleAsset | None:
    """Our copy of one sample; a sample that cannot be fetched or stored is answered without our link."""
    if sample.url is None:
        return None
    try:
        data = await deps.scope.upstream.download(sample.url, deps.settings.media_fetch_max_bytes)
    except GatewayError:
        log.warning("design_sample_not_fetched", extra={"provider_request_id": request_id, "index": sample.index})
        return None
    sniffed = media.sniff(data[:64])
    return await storage_service.put_asset(
        deps.storage,
        user_id=deps.scope.user_id,
        request_id=new_id(),
        asset_class=AssetClass.VOICE_DESIGN,
        data=data,
        ext=sniffed.extension if sniffed else "wav",
        content_type=sniffed.mime if sniffed else "audio/wav",
    )


async def promote(deps: VoiceDeps, design: OwnedResource, body: PromoteCreate) -> dict[str, Any]:
    """Create a rapid voice from one candidate: hold its first month, call Resemble, then record the owner, the
    voice and the paid month with the charge (one transaction). If that transaction does not happen, the new voice
    is deleted upstream again and the hold released."""
    scope = deps.scope
    path = f"{SPECS[Kind.VOICE_DESIGN].item_path(design.upstream_id, None)}/{body.candidate_index}/create_rapid_voice"
    created: dict[str, str] = {}

    async def upstream_promote() -> dict[str, Any]:
        answer = await scope.upstream.request_json(
            "POST", path, json={"voice_name": body.name}, idempotent=False, operation="promote_design"
        )
        voice_uuid = answer.get("voice_uuid") or ownership.upstream_id_of(answer.get("item") or {})
        if not isinstance(voice_uuid, str) or not voice_uuid or len(voice_uuid) > 64:
            raise UpstreamError(extra={"reason": "promoted voice without an id"})
        created["voice"] = voice_uuid
        return answer

    now = utc_now()

    async def record_voice(request_id: str) -> str:
        created["request"] = request_id
        row = owned.add(scope.session, Kind.VOICE, created["voice"], scope.user_id, None)
        await scope.session.flush()
        voice = ProviderResembleVoice(
            resource_id=row.id,
            user_id=scope.user_id,
            voice_type="rapid",
            consent_text=None,
            build_status="building",
            billing_anchor_at=now,
        )
        scope.session.add(voice)
        await scope.session.flush()
        return voice.id

    try:
        metered, _ = await subscriptions.metered_month(
            scope.session,
            deps.rate_card,
            user_id=scope.user_id,
            voice_type="rapid",
            operation="promote_design",
            hold_ttl=deps.hold_ttl,
            anchor=now,
            index=0,
            call=upstream_promote,
            voice_of=record_voice,
        )
    except BaseException as exc:
        if "voice" in created:
            await _undo_promotion(deps, created, exc)
        if isinstance(exc, SQLAlchemyError):
            raise ownership.OwnershipUnavailable() from exc
        raise
    state = await voices.state_by_upstream_id(scope.session, created["voice"])
    await scope.session.commit()
    assert state is not None
    return {
        "success": True,
        "voice_uuid": created["voice"],
        "design_uuid": design.upstream_id,
        "candidate_index": body.candidate_index,
        "request_id": metered.request.id,
        "billing": billing_view(metered.usage),
        "subscription": subscriptions.view(state, deps.rate_card),
    }


async def _undo_promotion(deps: VoiceDeps, created: dict[str, str], cause: BaseException) -> None:
    scope = deps.scope
    undone = await ownership.undo_create(scope, Kind.VOICE, created["voice"], parent=None, cause=cause)
    if undone and "request" in created:
        await metering.abandon(
            scope.session, created["request"], reason="promoted voice undone: its owner was not recorded"
        )
