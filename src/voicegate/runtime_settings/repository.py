"""All SQL of the runtime settings and their audit trail. Rows leave as plain values; writes only flush."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from voicegate.db.models import GatewaySetting, GatewaySettingChange
from voicegate.db.upsert import insert_or_ignore
from voicegate.kit.time import utc_now
from voicegate.runtime_settings.registry import Value


@dataclass(frozen=True)
class Stored:
    value: Value
    updated_at: datetime
    updated_by: str


@dataclass(frozen=True)
class Change:
    id: str
    name: str
    old_value: Value
    new_value: Value
    actor: str
    request_id: str | None
    changed_at: datetime


async def stored_values(session: AsyncSession) -> dict[str, Stored]:
    rows = await session.scalars(select(GatewaySetting))
    return {row.key: Stored(row.value, row.updated_at, row.updated_by) for row in rows}


async def write(session: AsyncSession, name: str, value: Value, *, actor: str) -> Stored | None:
    """Store `value` for `name`; the row it replaced (None when there was none).

    Insert-or-ignore first, then lock and update: two admins writing the first value at once cannot both insert,
    and the loser sees the winner's row as the value it replaced.
    """
    now = utc_now()
    values = {"key": name, "value": value, "updated_at": now, "updated_by": actor}
    if await insert_or_ignore(session, GatewaySetting, values, conflict_on=[GatewaySetting.key]):
        return None
    row = await session.scalar(select(GatewaySetting).where(GatewaySetting.key == name).with_for_update())
    assert row is not None  # rows are never deleted
    previous = Stored(row.value, row.updated_at, row.updated_by)
    await session.execute(
        update(GatewaySetting)
        .where(GatewaySetting.key == name)
        .values(value=value, updated_at=now, updated_by=actor)
        .execution_options(synchronize_session=False)
    )
    return previous


async def record_change(
    session: AsyncSession, name: str, old: Value, new: Value, *, actor: str, request_id: str | None
) -> None:
    session.add(GatewaySettingChange(key=name, old_value=old, new_value=new, actor=actor, request_id=request_id))
    await session.flush()


async def list_changes(session: AsyncSession, name: str | None, *, offset: int, limit: int) -> tuple[list[Change], int]:
    """Changes newest first (optionally of one setting), one page of them, and how many there are in all."""
    where = [GatewaySettingChange.key == name] if name is not None else []
    total = await session.scalar(select(func.count()).select_from(GatewaySettingChange).where(*where))
    rows = await session.scalars(
        select(GatewaySettingChange)
        .where(*where)
        .order_by(GatewaySettingChange.changed_at.desc(), GatewaySettingChange.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return [_change(row) for row in rows], int(total or 0)


def _change(row: GatewaySettingChange) -> Change:
    return Change(row.id, row.key, row.old_value, row.new_value, row.actor, row.request_id, row.changed_at)
