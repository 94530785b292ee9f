"""The one table of runtime settings. A new one is a row here (and a field of `Settings` for its default)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from pydantic import TypeAdapter, ValidationError

from voicegate.config import Settings
from voicegate.errors import Unprocessable

Value = bool | int | str
"""What a runtime setting holds: a JSON scalar, so a cached value can never be changed by its reader."""
JsonType = Literal["boolean", "integer", "string"]
_JSON_TYPES: Mapping[type, JsonType] = {bool: "boolean", int: "integer", str: "string"}


@dataclass(frozen=True)
class RuntimeSetting:
    name: str
    type: type[bool] | type[int] | type[str]
    env: str
    """The `Settings` field (and so the environment variable) that gives the default."""
    description: str
    _lax: TypeAdapter[Value] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_lax", TypeAdapter(self.type))

    @property
    def env_var(self) -> str:
        return self.env.upper()

    @property
    def json_type(self) -> JsonType:
        return _JSON_TYPES[self.type]

    def default(self, settings: Settings) -> Value:
        value: Value = getattr(settings, self.env)
        return value

    def parse_text(self, text: str) -> Value:
        """A value typed on a command line: `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off` for a boolean."""
        try:
            return self._lax.validate_python(text)
        except ValidationError as exc:
            raise Unprocessable(f"{self.name} must be a {self.json_type}, not {text!r}") from exc


BUSINESS_PLAN_ACTIVE = RuntimeSetting(
    name="business_plan_active",
    type=bool,
    env="resemble_business_plan_active",
    description="The Resemble account is on the Business plan: voice creation and voice design are open",
)

REGISTRY: Mapping[str, RuntimeSetting] = {setting.name: setting for setting in (BUSINESS_PLAN_ACTIVE,)}


def lookup(name: str) -> RuntimeSetting:
    setting = REGISTRY.get(name)
    if setting is None:
        raise Unprocessable(f"Unknown setting {name!r}; known settings: {', '.join(sorted(REGISTRY))}")
    return setting
