from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from voicegate.config import Settings
from voicegate.storage.base import StorageBackend
from voicegate.storage.factory import build_storage
from voicegate.storage.local import LocalBackend
from voicegate.storage.s3 import S3Backend

R2 = {
    "r2_endpoint_url": "https://account.r2.cloudflarestorage.com",
    "r2_bucket": "media",
    "r2_access_key_id": "r2-key",
    "r2_secret_access_key": "r2-secret",
}
UNSET: dict[str, Any] = {
    "r2_endpoint_url": None,
    "r2_bucket": None,
    "r2_access_key_id": None,
    "r2_secret_access_key": None,
    "r2_public_endpoint_url": None,
    "s3_endpoint_url": None,
    "s3_bucket": None,
    "aws_access_key_id": None,
    "aws_secret_access_key": None,
}


def settings(tmp_path: Path, **values: Any) -> Settings:
    return Settings(
        _env_file=None,
        var_dir=tmp_path / "var",
        jwt_secret="j" * 48,
        public_base_url="http://gateway.test/",
        **{**UNSET, **values},
    )


async def test_local(tmp_path: Path) -> None:
    storage = build_storage(settings(tmp_path, storage_backend="local", storage_local_dir=tmp_path / "media"))
    assert isinstance(storage, LocalBackend)
    assert isinstance(storage, StorageBackend)
    assert storage.root == (tmp_path / "media").absolute()
    url = await storage.presigned_url("uploads/u/2026/01/01/000000-r.wav", timedelta(minutes=1))
    assert url.startswith("http://gateway.test/files/uploads/u/")


def test_local_defaults_under_var_dir(tmp_path: Path) -> None:
    storage = build_storage(settings(tmp_path, storage_backend="local"))
    assert isinstance(storage, LocalBackend)
    assert storage.root == (tmp_path / "var" / "storage").absolute()


def test_r2_without_configuration_names_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="STORAGE_BACKEND=r2") as caught:
        build_storage(settings(tmp_path, storage_backend="r2"))
    for name in ("R2_ENDPOINT_URL", "R2_BUCKET", "R2_ACCESS_KEY_ID", "R2_SECRET_ACCESS_KEY"):
        assert name in str(caught.value)


@pytest.mark.parametrize("missing", sorted(R2))
def test_r2_with_one_setting_missing(tmp_path: Path, missing: str) -> None:
    values = {**R2, missing: None}
    with pytest.raises(ValueError, match=missing.upper()):
        build_storage(settings(tmp_path, storage_backend="r2", **values))


def test_r2_blank_credentials_count_as_missing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="R2_SECRET_ACCESS_KEY"):
        build_storage(settings(tmp_path, storage_backend="r2", **{**R2, "r2_secret_access_key": "  "}))


async def test_r2(tmp_path: Path) -> None:
    storage = build_storage(
        settings(tmp_path, storage_backend="r2", r2_public_endpoint_url="https://media.example.com", **R2)
    )
    assert isinstance(storage, S3Backend)
    try:
        assert (storage.name, storage.bucket, storage.region) == ("r2", "media", "auto")
        url = await storage.presigned_url("uploads/u/2026/01/01/000000-r.wav", timedelta(minutes=1))
        parts = urlsplit(url)
        assert parts.hostname == "media.example.com"
        assert parts.path == "/media/uploads/u/2026/01/01/000000-r.wav"
        assert "r2-key" in parts.query
    finally:
        storage.close()


def test_s3_needs_a_bucket(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="S3_BUCKET"):
        build_storage(settings(tmp_path, storage_backend="s3"))


def test_s3_needs_both_keys_or_neither(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="AWS_SECRET_ACCESS_KEY"):
        build_storage(settings(tmp_path, storage_backend="s3", s3_bucket="b", aws_access_key_id="k"))


async def test_s3(tmp_path: Path) -> None:
    storage = build_storage(
        settings(
            tmp_path,
            storage_backend="s3",
            s3_bucket="legacy-media",
            s3_region="eu-west-1",
            aws_access_key_id="aws-key",
            aws_secret_access_key="aws-secret",
        )
    )
    assert isinstance(storage, S3Backend)
    try:
        assert (storage.name, storage.bucket, storage.region) == ("s3", "legacy-media", "eu-west-1")
        url = await storage.presigned_url("uploads/u/2026/01/01/000000-r.wav", timedelta(minutes=1))
        assert "legacy-media" in (urlsplit(url).hostname or "") + urlsplit(url).path
        assert "eu-west-1" in url
    finally:
        storage.close()
