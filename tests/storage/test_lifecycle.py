"""Bucket lifecycle rules from the retention table, and `voicegate storage lifecycle` against moto's S3."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from mypy_boto3_s3 import S3Client

from tests.storage.retention_support import Cli, cli_for
from voicegate.storage.lifecycle import BucketRule, desired_rules, diff
from voicegate.storage.retention import RETENTION_TABLE
from voicegate.storage.s3 import S3Backend

EXPECTED_DAYS = {
    "tts-output/": 14,
    "stt-input/": 37,
    "stt-output/": 37,
    "audio-jobs/": 14,
    "watermark/": 14,
    "voice-design/": 21,
    "images/": 37,
    "videos/": 21,
    "chat-images/": 97,
    "uploads/": 37,
    "_deleted/": 7,
}


class TestDesiredRules:
    def test_one_rule_per_expiring_prefix_at_ttl_plus_the_window_and_deleted_after_seven_days(self) -> None:
        assert {rule.prefix: rule.expiration_days for rule in desired_rules()} == EXPECTED_DAYS

    def test_no_rule_on_permanent_prefixes(self) -> None:
        permanent = {rule.prefix for rule in RETENTION_TABLE.values() if rule.permanent}
        assert permanent == {"voice-recordings/", "voice-models/"}
        assert not [rule for rule in desired_rules() if rule.prefix in permanent]

    def test_rule_ids_are_unique(self) -> None:
        ids = [rule.id for rule in desired_rules()]
        assert len(ids) == len(set(ids))


class TestDiff:
    def test_against_an_empty_bucket_everything_is_added(self) -> None:
        result = diff(desired_rules(), [])
        assert len(result.add) == len(EXPECTED_DAYS)
        assert not result.in_sync

    def test_changed_foreign_and_unchanged_rules(self) -> None:
        desired = desired_rules()
        tts = next(rule for rule in desired if rule.prefix == "tts-output/")
        stale = BucketRule(id=tts.id, prefix=tts.prefix, expiration_days=3)
        foreign = BucketRule(id="someone-else", prefix="voice-models/", expiration_days=1)
        result = diff(desired, [stale, foreign, *[rule for rule in desired if rule is not tts]])
        assert result.change == [(stale, tts)]
        assert result.remove == [foreign]
        assert result.add == []
        assert len(result.unchanged) == len(desired) - 1

    def test_identical_rules_are_in_sync(self) -> None:
        assert diff(desired_rules(), desired_rules()).in_sync


@pytest.fixture
def s3_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, s3: S3Backend, moto_endpoint: str, bucket: str
) -> Iterator[Cli]:
    environment = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
        "VAR_DIR": str(tmp_path),
        "STORAGE_BACKEND": "s3",
        "S3_ENDPOINT_URL": moto_endpoint,
        "S3_BUCKET": bucket,
        "S3_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    yield from cli_for(environment, monkeypatch)


def bucket_rules(s3_client: S3Client, bucket: str) -> dict[str, tuple[str, int]]:
    rules = s3_client.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    return {rule["Filter"]["Prefix"]: (rule["Status"], rule["Expiration"]["Days"]) for rule in rules}


class TestLifecycleCommand:
    async def test_show_apply_show(self, s3_cli: Cli, s3_client: S3Client, bucket: str) -> None:
        s3_client.put_bucket_lifecycle_configuration(
            Bucket=bucket,
            LifecycleConfiguration={
                "Rules": [
                    {"ID": "voicegate-tts-output", "Filter": {"Prefix": "tts-output/"}, "Status": "Enabled",
                     "Expiration": {"Days": 3}},
                    {"ID": "legacy", "Filter": {"Prefix": "voice-models/"}, "Status": "Enabled",
                     "Expiration": {"Days": 30}},
                ]
            },
        )  # fmt: skip
        shown = await s3_cli("storage", "lifecycle", "--show")
        assert shown["applied"] is False
        assert shown["diff"]["in_sync"] is False
        assert [c["current"]["expiration_days"] for c in shown["diff"]["change"]] == [3]
        assert [rule["id"] for rule in shown["diff"]["remove"]] == ["legacy"]
        assert len(shown["diff"]["add"]) == len(EXPECTED_DAYS) - 1
        assert bucket_rules(s3_client, bucket)["tts-output/"] == ("Enabled", 3)  # --show writes nothing

        applied = await s3_cli("storage", "lifecycle", "--apply")
        assert applied["applied"] is True
        assert bucket_rules(s3_client, bucket) == {prefix: ("Enabled", days) for prefix, days in EXPECTED_DAYS.items()}

        again = await s3_cli("storage", "lifecycle", "--show")
        assert again["diff"]["in_sync"] is True
        assert len(again["diff"]["unchanged"]) == len(EXPECTED_DAYS)

    async def test_text_output_names_each_rule_and_difference(
        self, s3_cli: Cli, s3_client: S3Client, bucket: str
    ) -> None:
        s3_client.delete_bucket_lifecycle(Bucket=bucket)
        shown = (await s3_cli("storage", "lifecycle", "--show", as_json=False)).output
        assert "voicegate-uploads: uploads/ expires after 37 days" in shown
        assert "+ voicegate-_deleted" in shown
        assert "voice-recordings" not in shown
        await s3_cli("storage", "lifecycle", "--apply")
        assert (
            "the bucket has exactly these rules"
            in (await s3_cli("storage", "lifecycle", "--show", as_json=False)).output
        )

    async def test_a_bucket_without_configuration_has_no_rules(
        self, s3_cli: Cli, s3_client: S3Client, bucket: str
    ) -> None:
        s3_client.delete_bucket_lifecycle(Bucket=bucket)
        shown = await s3_cli("storage", "lifecycle", "--show")
        assert len(shown["diff"]["add"]) == len(EXPECTED_DAYS)
        assert shown["diff"]["remove"] == []
        assert shown["diff"]["change"] == []

    async def test_exactly_one_of_show_or_apply(self, s3_cli: Cli) -> None:
        result = await s3_cli("storage", "lifecycle", exit_code=2)
        assert "exactly one of --show or --apply" in result.output


@pytest.fixture
def local_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    environment = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
        "VAR_DIR": str(tmp_path),
        "STORAGE_BACKEND": "local",
    }
    yield from cli_for(environment, monkeypatch)


async def test_lifecycle_does_not_apply_to_the_local_backend(local_cli: Cli) -> None:
    result = await local_cli("storage", "lifecycle", "--show", exit_code=1)
    assert "the local backend has none" in result.output
