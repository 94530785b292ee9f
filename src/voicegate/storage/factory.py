"""Choosing and configuring the storage backend from settings, failing fast on incomplete configuration."""

from __future__ import annotations

from pydantic import SecretStr

from voicegate.config import Settings
from voicegate.storage.base import StorageBackend
from voicegate.storage.local import LocalBackend
from voicegate.storage.s3 import S3Backend


def _secret(value: SecretStr | None) -> str | None:
    if value is None or not value.get_secret_value().strip():
        return None
    return value.get_secret_value()


def _require(backend: str, values: dict[str, object | None]) -> None:
    missing = [name for name, value in values.items() if value is None or value == ""]
    if missing:
        raise ValueError(f"STORAGE_BACKEND={backend} needs " + ", ".join(missing))


def build_storage(settings: Settings) -> StorageBackend:
    """The backend selected by STORAGE_BACKEND; ValueError naming the missing variables when misconfigured."""
    if settings.storage_backend == "local":
        return LocalBackend(
            settings.effective_storage_dir,
            public_base_url=settings.public_base_url,
            secret=settings.signing_secret,
        )
    if settings.storage_backend == "r2":
        access_key, secret_key = _secret(settings.r2_access_key_id), _secret(settings.r2_secret_access_key)
        _require(
            "r2",
            {
                "R2_ENDPOINT_URL": settings.r2_endpoint_url,
                "R2_BUCKET": settings.r2_bucket,
                "R2_ACCESS_KEY_ID": access_key,
                "R2_SECRET_ACCESS_KEY": secret_key,
            },
        )
        assert settings.r2_bucket is not None
        return S3Backend(
            name="r2",
            bucket=settings.r2_bucket,
            region=settings.r2_region or "auto",
            endpoint_url=settings.r2_endpoint_url,
            access_key_id=access_key,
            secret_access_key=secret_key,
            public_endpoint_url=settings.r2_public_endpoint_url or None,
        )
    access_key, secret_key = _secret(settings.aws_access_key_id), _secret(settings.aws_secret_access_key)
    _require("s3", {"S3_BUCKET": settings.s3_bucket})
    if (access_key is None) != (secret_key is None):
        raise ValueError(
            "STORAGE_BACKEND=s3 needs both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither "
            "(to use the default AWS credential chain)"
        )
    assert settings.s3_bucket is not None
    return S3Backend(
        name="s3",
        bucket=settings.s3_bucket,
        region=settings.s3_region,
        endpoint_url=settings.s3_endpoint_url or None,
        access_key_id=access_key,
        secret_access_key=secret_key,
    )
