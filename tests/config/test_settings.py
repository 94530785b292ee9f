from __future__ import annotations

import pytest
from pydantic import ValidationError

from voicegate.config import Settings

STRONG = "s" * 40


def _production(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "voicegate_env": "production",
        "jwt_secret": STRONG,
        "admin_api_key": "admin-" + STRONG,
        "resemble_api_key": "rk-" + STRONG,
        "resemble_webhook_secret": "wh-" + STRONG,
        "database_url": "postgresql+asyncpg://db/voicegate",
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def test_production_accepts_real_secrets():
    assert _production().is_production


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("jwt_secret", None),
        ("jwt_secret", "changeme"),
        ("jwt_secret", "short-but-not-placeholder"),
        ("admin_api_key", "secret"),
        ("resemble_api_key", None),
        ("resemble_webhook_secret", None),
        ("database_url", None),
    ],
)
def test_production_refuses_missing_or_placeholder_secrets(field: str, value: object):
    with pytest.raises(ValidationError, match="production mode needs real values"):
        _production(**{field: value})


def test_development_generates_and_keeps_a_signing_secret(tmp_path):
    first = Settings(_env_file=None, var_dir=tmp_path).signing_secret  # type: ignore[call-arg]
    second = Settings(_env_file=None, var_dir=tmp_path).signing_secret  # type: ignore[call-arg]
    assert first == second
    assert len(first) >= 32
    assert (tmp_path / "jwt_secret").stat().st_mode & 0o777 == 0o600


def test_json_env_values(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("RESEMBLE_RATE_LIMITS", '{"tts": "5/minute"}')
    monkeypatch.setenv("RESEMBLE_RATES", '{"enhance": "0.002"}')
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.resemble_rate_limits == {"tts": "5/minute"}
    assert str(settings.resemble_rates["enhance"]) == "0.002"


def test_bad_rate_limit_json_is_refused(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("RESEMBLE_RATE_LIMITS", '["tts"]')
    with pytest.raises(ValidationError):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_log_format_defaults_by_environment_and_can_be_chosen():
    assert Settings(_env_file=None).effective_log_format == "console"  # type: ignore[call-arg]
    assert _production().effective_log_format == "json"
    assert _production(log_format="console").effective_log_format == "console"
    assert Settings(_env_file=None, log_format="json").effective_log_format == "json"  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        Settings(_env_file=None, log_format="xml")  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("env", "value"),
    [("RUNTIME_SETTINGS_TTL_S", "6"), ("RUNTIME_SETTINGS_TTL_S", "0"), ("SIMULATOR_PLAN", "enterprise")],
)
def test_runtime_settings_lifetime_and_simulator_plan_are_bounded(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str
):
    monkeypatch.setenv(env, value)
    with pytest.raises(ValidationError):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_openai_voice_map_from_the_environment(monkeypatch: pytest.MonkeyPatch):
    assert Settings(_env_file=None).openai_voice_map["alloy"] == "55592656"  # type: ignore[call-arg]
    monkeypatch.setenv("OPENAI_VOICE_MAP", '{"Alloy": "abc123", "echo": "def-456"}')
    assert Settings(_env_file=None).openai_voice_map == {"alloy": "abc123", "echo": "def-456"}  # type: ignore[call-arg]


@pytest.mark.parametrize("value", ['["alloy"]', '{"alloy": "not a uuid"}', '{"alloy": ""}'])
def test_bad_openai_voice_map_is_refused(monkeypatch: pytest.MonkeyPatch, value: str):
    monkeypatch.setenv("OPENAI_VOICE_MAP", value)
    with pytest.raises(ValidationError):
        Settings(_env_file=None)  # type: ignore[call-arg]
