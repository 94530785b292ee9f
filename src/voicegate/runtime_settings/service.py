"""Reading and changing runtime settings, for the admin API and the CLI alike. Changes are committed and audited."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from voicegate.config import Settings
from voicegate.errors import Unprocessable
from voicegate.runtime_settings import repository
from voicegate.runtime_settings.reader import RuntimeSettings
from voicegate.runtime_settings.registry import REGISTRY, RuntimeSetting, Value, lookup
from voicegate.runtime_settings.repository import Change, Stored


@dataclass(frozen=True)
class SettingView:
    setting: RuntimeSetting
    value: Value
    default: Value
    source: Literal["env", "database"]
    updated_at: datetime | None
    updated_by: str | None


def _view(setting: RuntimeSetting, settings: Settings, stored: Stored | None) -> SettingView:
    default = setting.default(settings)
    if stored is None:
        return SettingView(setting, default, default, "env", None, None)
    return SettingView(setting, stored.value, default, "database", stored.updated_at, stored.updated_by)


async def list_settings(session: AsyncSession, settings: Settings) -> list[SettingView]:
    """Every known setting as stored now (read from the database, not from any process's cache)."""
    stored = await repository.stored_values(session)
    return [_view(setting, settings, stored.get(name)) for name, setting in sorted(REGISTRY.items())]


async def get_setting(session: AsyncSession, settings: Settings, name: str) -> SettingView:
    setting = lookup(name)
    return _view(setting, settings, (await repository.stored_values(session)).get(name))


async def set_values(
    session: AsyncSession,
    settings: Settings,
    values: Mapping[str, Value],
    *,
    actor: str,
    request_id: str | None = None,
    runtime: RuntimeSettings | None = None,
) -> list[SettingView]:
    """Store each value with one audit row, commit, then make this process's reads see it at once (other
    processes within their cache's lifetime). Nothing is written unless every name and value is valid."""
    checked = [(_checked(name, value), value) for name, value in values.items()]
    if not checked:
        raise Unprocessable("Name at least one setting to change")
    for setting, value in checked:
        previous = await repository.write(session, setting.name, value, actor=actor)
        old = setting.default(settings) if previous is None else previous.value
        await repository.record_change(session, setting.name, old, value, actor=actor, request_id=request_id)
    await session.commit()
    if runtime is not None:
        runtime.forget()
    return await list_settings(session, settings)


def _checked(name: str, value: Value) -> RuntimeSetting:
    setting = lookup(name)
    if type(value) is not setting.type:  # exact: True is an int to isinstance()
        raise Unprocessable(f"{name} must be a {setting.json_type}")
    return setting


async def list_changes(
    session: AsyncSession, name: str | None, *, page: int, page_size: int
) -> tuple[list[Change], int]:
    if name is not None:
        lookup(name)
    return await repository.list_changes(session, name, offset=(page - 1) * page_size, limit=page_size)
