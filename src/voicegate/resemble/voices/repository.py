"""All SQL of cloned voices and their paid months. Writes only flush; callers own the transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from voicegate.db.models import (
    ProviderResembleAsset,
    ProviderResembleResource,
    ProviderResembleVoice,
    ProviderResembleVoiceSubscription,
)

Voice = ProviderResembleVoice
Paid = ProviderResembleVoiceSubscription
Resource = ProviderResembleResource


@dataclass(frozen=True)
class VoiceState:
    """A voice's billing state as plain values."""

    id: str
    resource_id: str
    user_id: str
    upstream_id: str
    voice_type: str
    build_status: str
    billing_anchor_at: datetime | None
    suspended_at: datetime | None
    model_asset_id: str | None
    last_paid_index: int | None
    paid_through: datetime | None


def _state(voice: Voice, upstream_id: str, last_index: int | None, paid_through: datetime | None) -> VoiceState:
    return VoiceState(
        id=voice.id,
        resource_id=voice.resource_id,
        user_id=voice.user_id,
        upstream_id=upstream_id,
        voice_type=voice.voice_type,
        build_status=voice.build_status,
        billing_anchor_at=voice.billing_anchor_at,
        suspended_at=voice.suspended_at,
        model_asset_id=voice.model_asset_id,
        last_paid_index=last_index,
        paid_through=paid_through,
    )


def _with_last_period():  # type: ignore[no-untyped-def]
    last = (
        select(Paid.voice_id, func.max(Paid.period_index).label("last_index"), func.max(Paid.period_end).label("end"))
        .group_by(Paid.voice_id)
        .subquery()
    )
    query = (
        select(Voice, Resource.upstream_id, last.c.last_index, last.c.end)
        .join(Resource, Resource.id == Voice.resource_id)
        .outerjoin(last, last.c.voice_id == Voice.id)
        .where(Resource.deleted_at.is_(None))
    )
    return query


async def state_of(session: AsyncSession, resource_id: str) -> VoiceState | None:
    """The live voice behind an ownership row; None when it has no voice record (or was deleted)."""
    found = (await session.execute(_with_last_period().where(Voice.resource_id == resource_id))).first()
    return _state(*found) if found else None


async def state_by_upstream_id(session: AsyncSession, upstream_id: str) -> VoiceState | None:
    found = (await session.execute(_with_last_period().where(Resource.upstream_id == upstream_id))).first()
    return _state(*found) if found else None


async def states_by_upstream_ids(session: AsyncSession, upstream_ids: list[str]) -> dict[str, VoiceState]:
    if not upstream_ids:
        return {}
    rows = (await session.execute(_with_last_period().where(Resource.upstream_id.in_(upstream_ids)))).all()
    return {state.upstream_id: state for state in (_state(*row) for row in rows)}


async def billed_voices(session: AsyncSession, *, after_id: str, limit: int) -> list[VoiceState]:
    """Live voices that have started paying (the renewal task's candidates), in id order, a batch at a time."""
    query = (
        _with_last_period()
        .where(Voice.billing_anchor_at.is_not(None), Voice.id > after_id)
        .order_by(Voice.id)
        .limit(limit)
    )
    return [_state(*row) for row in (await session.execute(query)).all()]


async def building_voices(session: AsyncSession, *, limit: int) -> list[VoiceState]:
    query = _with_last_period().where(Voice.build_status == "building").order_by(Voice.created_at).limit(limit)
    return [_state(*row) for row in (await session.execute(query)).all()]


def add_voice(
    session: AsyncSession, *, resource_id: str, user_id: str, voice_type: str, consent_text: str | None
) -> Voice:
    voice = Voice(resource_id=resource_id, user_id=user_id, voice_type=voice_type, consent_text=consent_text)
    session.add(voice)
    return voice


def add_paid_period(
    session: AsyncSession,
    *,
    voice_id: str,
    user_id: str,
    index: int,
    start: datetime,
    end: datetime,
    request_id: str,
) -> Paid:
    row = Paid(
        voice_id=voice_id,
        user_id=user_id,
        period_index=index,
        period_start=start,
        period_end=end,
        request_id=request_id,
    )
    session.add(row)
    return row


async def is_paid(session: AsyncSession, voice_id: str, index: int) -> bool:
    found = await session.scalar(select(Paid.id).where(Paid.voice_id == voice_id, Paid.period_index == index))
    return found is not None


async def change(session: AsyncSession, voice_id: str, **values: object) -> None:
    """Set columns of one voice (`build_status`, `billing_anchor_at`, `suspended_at`, `model_asset_id`)."""
    await session.execute(update(Voice).where(Voice.id == voice_id).values(**values))


async def suspend(session: AsyncSession, voice_id: str, at: datetime) -> bool:
    """Mark unpaid; True if this call suspended it (it was not already)."""
    result = await session.execute(
        update(Voice).where(Voice.id == voice_id, Voice.suspended_at.is_(None)).values(suspended_at=at)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def recording_asset(session: AsyncSession, resource_id: str, user_id: str) -> ProviderResembleAsset | None:
    """Our live copy of a recording's audio (`voice-recordings/`)."""
    return await session.scalar(
        select(ProviderResembleAsset)
        .join(Resource, Resource.asset_id == ProviderResembleAsset.id)
        .where(
            Resource.id == resource_id,
            ProviderResembleAsset.user_id == user_id,
            ProviderResembleAsset.deleted_at.is_(None),
        )
    )


async def finish_build(session: AsyncSession, voice_id: str, status: str, *, model_asset_id: str | None = None) -> bool:
    """Move a building voice to `status` (built or failed); False when someone else already did."""
    values: dict[str, object] = {"build_status": status}
    if model_asset_id is not None:
        values["model_asset_id"] = model_asset_id
    result = await session.execute(
        update(Voice).where(Voice.id == voice_id, Voice.build_status == "building").values(**values)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
