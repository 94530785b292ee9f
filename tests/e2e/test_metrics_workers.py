"""With two worker processes, every scrape of `/metrics` reports the whole gateway, not one worker's share."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.servers import free_port, serve
from tests.services import sibling_database

ADMIN_KEY = "metrics-admin-key"
REQUESTS = 16
DEGRADED = re.compile(r'^voicegate_ratelimit_degraded_total\{reason="(\w+)"\} (\S+)$', re.MULTILINE)


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory, database_url: str) -> Iterator[str]:
    """The gateway on two workers with the in-process simulator, its limiter pointed at a Redis that is down."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        "DATABASE_URL": sibling_database(database_url, "metrics"),
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "ADMIN_API_KEY": ADMIN_KEY,
        "JWT_SECRET": "metrics" * 8,
        "PUBLIC_BASE_URL": base,
        "VAR_DIR": str(tmp_path_factory.mktemp("metrics-var")),
        "STORAGE_BACKEND": "local",
    }
    log = tmp_path_factory.mktemp("metrics-logs") / "gateway.log"
    with serve(["serve", "--port", str(port), "--workers", "2"], env, f"{base}/healthz", log):
        yield base


def degraded_total(base: str) -> float:
    # A new connection per scrape, so scrapes land on either worker.
    text = httpx.get(f"{base}/metrics", headers={"Connection": "close"}).text
    return sum(float(value) for _, value in DEGRADED.findall(text))


def test_degrades_from_both_workers_add_up_in_every_scrape(two_workers: str) -> None:
    created = httpx.post(
        f"{two_workers}/api/v1/admin/users",
        json={"email": "metrics@example.com", "credits_usd": "5.00"},
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
    )
    assert created.status_code == 201, created.text
    headers = {"Authorization": f"Bearer {created.json()['api_key']}", "Connection": "close"}
    before = degraded_total(two_workers)
    for _ in range(REQUESTS):
        answered = httpx.get(f"{two_workers}/api/v1/resemble/tts/voices", headers=headers)
        assert answered.status_code == 200, answered.text
    assert [degraded_total(two_workers) - before for _ in range(6)] == [REQUESTS] * 6
