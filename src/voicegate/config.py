"""Typed settings, read once from the environment.

Embedded defaults (SQLite, local storage, in-process limiter, the bundled simulator) apply whenever a URL or key
is unset, so `make run` works on a fresh machine. Production mode (`VOICEGATE_ENV=production`) refuses to start
with missing or placeholder secrets.
"""

from __future__ import annotations

import json
import re
import secrets
from decimal import Decimal
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "secret", "placeholder", "test", "dev"})


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # Deployment
    voicegate_env: Literal["development", "production"] = "development"
    var_dir: Path = Path("./var")
    public_base_url: str = "http://127.0.0.1:8080"
    log_level: str = "INFO"
    log_format: Literal["json", "console"] | None = None  # unset: JSON in production, console text otherwise

    # Upstream (Resemble)
    resemble_api_key: SecretStr | None = None
    resemble_base_url: str = "https://app.resemble.ai/api/v2"
    resemble_synth_url: str = "https://f.cluster.resemble.ai"
    resemble_connect_timeout_s: float = 5.0
    resemble_read_timeout_s: float = 60.0
    resemble_max_retries: int = 2
    resemble_breaker_failures: int = 5
    resemble_breaker_reset_s: float = 30.0
    # The wallet ledger reconciliation reads; unset means RESEMBLE_BASE_URL (the per-path server of `/wallet*`).
    resemble_billing_base_url: str | None = None
    # Streaming TTS WebSocket (Business plan); with the in-process simulator it is reached in memory instead
    resemble_stream_url: str = "wss://websocket.cluster.resemble.ai/stream"
    tts_stream_max_per_user: int = Field(default=2, ge=1, le=20)  # concurrent sockets, counted across processes

    # Billing
    resemble_markup_pct: Decimal = Decimal("20.0")
    resemble_rates: dict[str, Decimal] = Field(default_factory=dict)
    hold_ttl_s: int = 900

    # Bring your own Resemble key: urlsafe base64 of 32 random bytes (unset: the feature is off); see `byok`
    byok_encryption_key: SecretStr | None = None
    byok_platform_fee_usd: Decimal = Field(default=Decimal(0), ge=0)
    # Rate key -> USD per unit ({"tts": "0.0001"}), charged on BYOK calls on top of the per-call fee
    byok_platform_fee_per_unit: dict[str, Decimal] = Field(default_factory=dict)
    # OpenAI-compatible speech: OpenAI's voice names -> the Resemble voice each one speaks with (JSON object). The
    # defaults are stock voices of Resemble's library as the bundled simulator seeds them; set the whole table for a
    # real account (a name missing from it is refused as an unknown voice).
    openai_voice_map: dict[str, str] = Field(
        default_factory=lambda: {
            **dict.fromkeys(("alloy", "coral", "nova", "sage", "shimmer"), "55592656"),
            **dict.fromkeys(("ash", "ballad", "echo", "fable", "onyx", "verse"), "b2d1bb75"),
        }
    )

    # Webhooks and plan gate
    resemble_webhook_secret: SecretStr | None = None
    resemble_business_plan_active: bool = False  # the default; an admin can switch it at runtime
    runtime_settings_ttl_s: float = Field(default=5.0, gt=0, le=5.0)
    webhook_delivery_max_attempts: int = 8

    # Async jobs and media
    job_hold_ttl_s: int = 86_400
    job_default_estimate_s: int = 60
    job_poll_every_s: float = 30.0
    upload_max_bytes: int = 512 * 1024 * 1024
    media_fetch_max_bytes: int = 200 * 1024 * 1024
    media_fetch_timeout_s: float = 30.0
    outbound_allow_private_networks: bool = False
    simulator_job_delay_s: float = 0.5
    # How long the synchronous transcription routes (hub and OpenAI) wait for the STT job before answering 504
    # with the job id to poll natively; the job itself runs on and is billed once, whenever it completes.
    hub_stt_wait_s: float = Field(default=60.0, gt=0, le=600)
    simulator_plan: Literal["flex", "business"] = "flex"
    # More accounts on the in-process simulator, one per key (JSON list); with any set it accepts only these keys
    # and the gateway's own ("simulator"), so a user's bring-your-own key can be a second account's
    simulator_api_keys: list[str] = Field(default_factory=list)

    # Storage
    storage_backend: Literal["local", "r2", "s3"] = "local"
    storage_local_dir: Path | None = None
    r2_endpoint_url: str | None = None
    r2_bucket: str | None = None
    r2_access_key_id: SecretStr | None = None
    r2_secret_access_key: SecretStr | None = None
    r2_region: str = "auto"
    r2_public_endpoint_url: str | None = None
    s3_endpoint_url: str | None = None
    s3_bucket: str | None = None
    s3_region: str = "us-east-1"
    aws_access_key_id: SecretStr | None = None
    aws_secret_access_key: SecretStr | None = None
    presign_ttl_s: int = 3600

    # Database and Redis
    database_url: str | None = None
    db_pool_size: int = Field(default=20, ge=1)
    db_pool_timeout_s: float = Field(default=5.0, gt=0)
    db_connect_timeout_s: float = Field(default=5.0, gt=0)
    redis_url: str | None = None

    # Background work: `inprocess` runs the periodic tasks in each gateway process; `celery` leaves them to
    # `voicegate worker` + `voicegate beat` and sends request-enqueued work to the broker
    scheduler: Literal["inprocess", "celery"] = "inprocess"
    celery_broker_url: str | None = None  # redis://... or amqp://...
    celery_result_backend: str | None = None  # unset: the Redis broker itself, or rpc:// with RabbitMQ

    # Rate limits: JSON object, capability -> `limits` notation for every tier ({"tts": "5/minute"}), or
    # tier -> {capability -> notation} ({"free": {"tts": "10/minute"}, "paid": {...}}); see ratelimit/rules.py
    resemble_rate_limits: dict[str, str | dict[str, str]] = Field(default_factory=dict)

    # Secrets
    admin_api_key: SecretStr | None = None
    jwt_secret: SecretStr | None = None
    jwt_ttl_s: int = 3600

    @field_validator(
        "resemble_rate_limits", "resemble_rates", "byok_platform_fee_per_unit", "openai_voice_map", mode="before"
    )
    @classmethod
    def _parse_json_object(cls, value: object) -> object:
        if isinstance(value, str):
            value = json.loads(value) if value.strip() else {}
        if not isinstance(value, dict):
            raise ValueError("must be a JSON object")
        return value

    @field_validator("openai_voice_map", mode="after")
    @classmethod
    def _check_voice_map(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [name for name, uuid in value.items() if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", uuid)]
        if bad:
            raise ValueError(f"voice uuids must be 1-64 letters, digits, '_' or '-': check {', '.join(sorted(bad))}")
        return {name.lower(): uuid for name, uuid in value.items()}

    @field_validator("resemble_rate_limits", mode="after")
    @classmethod
    def _check_rate_limits(cls, value: dict[str, str | dict[str, str]]) -> dict[str, str | dict[str, str]]:
        # Imported here: the rules module's package builds limiters from Settings, so it imports this module.
        from voicegate.ratelimit.rules import resolve_caps

        resolve_caps(value)  # raises ValueError naming the unknown tier or capability, or the bad notation
        return value

    @field_validator("simulator_api_keys", mode="before")
    @classmethod
    def _parse_json_list(cls, value: object) -> object:
        if isinstance(value, str):
            value = json.loads(value) if value.strip() else []
        if not isinstance(value, list) or not all(isinstance(key, str) and key.strip() for key in value):
            raise ValueError("must be a JSON list of non-empty keys")
        return value

    @field_validator("byok_encryption_key", mode="after")
    @classmethod
    def _check_byok_key(cls, value: SecretStr | None) -> SecretStr | None:
        # Imported here: the crypto module is free of settings, but keeps the one definition of a valid key.
        from voicegate.byok.crypto import decode_master_key

        if value is not None:
            decode_master_key(value.get_secret_value())  # raises ValueError saying what a valid key looks like
        return value

    @field_validator("byok_platform_fee_per_unit", mode="after")
    @classmethod
    def _check_byok_fees(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        from voicegate.billing.pricing import RATE_CARD

        for key, usd in value.items():
            if key not in RATE_CARD:
                raise ValueError(f"names an unknown rate {key!r}; known: {sorted(RATE_CARD)}")
            if usd < 0:
                raise ValueError(f"fee for {key!r} must not be negative")
        return value

    @model_validator(mode="after")
    def _check_scheduler(self) -> Settings:
        if self.scheduler == "celery" and not self.celery_broker_url:
            raise ValueError(
                "SCHEDULER=celery needs CELERY_BROKER_URL (redis://host:6379/0 or amqp://user:pass@host:5672//)"
            )
        return self

    @model_validator(mode="after")
    def _check_production_secrets(self) -> Settings:
        if self.voicegate_env != "production":
            return self
        problems = []
        for name in ("jwt_secret", "admin_api_key", "resemble_api_key", "resemble_webhook_secret"):
            value: SecretStr | None = getattr(self, name)
            if value is None or value.get_secret_value().strip().lower() in PLACEHOLDER_SECRETS:
                problems.append(name.upper())
        if self.jwt_secret is not None and len(self.jwt_secret.get_secret_value()) < 32:
            problems.append("JWT_SECRET (shorter than 32 characters)")
        if self.database_url is None:
            problems.append("DATABASE_URL")
        if problems:
            raise ValueError("production mode needs real values for: " + ", ".join(problems))
        return self

    @property
    def is_production(self) -> bool:
        return self.voicegate_env == "production"

    @property
    def effective_log_format(self) -> Literal["json", "console"]:
        return self.log_format or ("json" if self.is_production else "console")

    @property
    def uses_simulator(self) -> bool:
        return self.resemble_api_key is None

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{(self.var_dir / 'voicegate.db').as_posix()}"

    @property
    def effective_storage_dir(self) -> Path:
        return self.storage_local_dir or self.var_dir / "storage"

    @cached_property
    def signing_secret(self) -> str:
        """The JWT/URL signing secret; in development it is generated once and kept under `var_dir`."""
        if self.jwt_secret is not None:
            return self.jwt_secret.get_secret_value()
        path = self.var_dir / "jwt_secret"
        if not path.exists():
            self.var_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()
