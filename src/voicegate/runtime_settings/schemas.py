from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from voicegate.runtime_settings.registry import REGISTRY, JsonType, Value


class SettingRead(BaseModel):
    name: str
    value: Value
    default: Value = Field(description="The environment's value (`env_var`), in effect while none is stored")
    source: Literal["env", "database"]
    type: JsonType
    env_var: str
    description: str
    updated_at: datetime | None = Field(description="When an admin last set it (null: never)")
    updated_by: str | None = Field(description="Who last set it: `admin-api[:actor]` or `cli:<user>`")


class SettingsRead(BaseModel):
    settings: list[SettingRead]


class SettingChangeRead(BaseModel):
    id: str
    name: str
    old_value: Value = Field(description="The value in effect before (the environment's when none was stored)")
    new_value: Value
    actor: str
    request_id: str | None
    changed_at: datetime


class SettingChangePage(BaseModel):
    items: list[SettingChangeRead]
    page: int
    page_size: int
    total: int


class SettingsUpdateBase(BaseModel):
    """Known settings to change, each with a value of its type; at least one."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})

    @model_validator(mode="after")
    def _names_a_setting(self) -> SettingsUpdateBase:
        if not self.model_fields_set:
            raise ValueError("name at least one setting to change")
        return self

    def changes(self) -> dict[str, Value]:
        return {name: getattr(self, name) for name in sorted(self.model_fields_set)}


def _without_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)  # absent means "unchanged"; null is not a value


def _update_model() -> type[SettingsUpdateBase]:
    """One optional, strictly typed field per registered setting, so the OpenAPI document lists them all."""
    fields: dict[str, Any] = {
        setting.name: (
            setting.type,
            Field(default=None, strict=True, description=setting.description, json_schema_extra=_without_default),
        )
        for setting in REGISTRY.values()
    }
    return create_model("SettingsUpdate", __base__=SettingsUpdateBase, **fields)


if TYPE_CHECKING:
    SettingsUpdate = SettingsUpdateBase
else:
    SettingsUpdate = _update_model()
