"""`GET /readyz` names each dependency's state; a required one down is 503, Redis down only degrades."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from pydantic import SecretStr

from voicegate.app import create_app
from voicegate.config import Settings

CLOSED_PORT = "127.0.0.1:1"


@contextlib.asynccontextmanager
async def client_for(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
            yield http


async def readiness(settings: Settings) -> httpx.Response:
    async with client_for(settings) as http:
        started = time.monotonic()
        response = await http.get("/readyz")
        assert time.monotonic() - started < 4, "every check is bounded by a short timeout"
        return response


def failing(body: dict[str, object]) -> list[str]:
    checks = body["checks"]
    assert isinstance(checks, dict)
    return sorted(name for name, check in checks.items() if not check["ok"])


async def test_all_up_is_ok(client: httpx.AsyncClient, settings: Settings) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert failing(body) == []
    checks = body["checks"]
    assert checks["database"]["backend"] == settings.effective_database_url.split("+")[0]
    assert checks["redis"]["backend"] == ("redis" if settings.redis_url else "memory")
    assert checks["storage"]["backend"] == settings.storage_backend
    assert (checks["database"]["required"], checks["redis"]["required"], checks["storage"]["required"]) == (
        True,
        False,
        True,
    )
    assert all(check["latency_ms"] >= 0 and check["error"] is None for check in checks.values())


async def test_unreachable_database_is_503(settings: Settings) -> None:
    dead = settings.model_copy(
        update={"database_url": f"postgresql+asyncpg://postgres@{CLOSED_PORT}/voicegate", "db_connect_timeout_s": 1.0}
    )
    response = await readiness(dead)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert failing(body) == ["database"]
    assert "OperationalError" in body["checks"]["database"]["error"]


async def test_unopenable_sqlite_database_is_503(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "voicegate.db").mkdir()
    response = await readiness(
        settings.model_copy(update={"database_url": f"sqlite+aiosqlite:///{tmp_path}/voicegate.db"})
    )
    assert response.status_code == 503
    assert failing(response.json()) == ["database"]


async def test_redis_on_a_closed_port_degrades_but_serves(settings: Settings) -> None:
    response = await readiness(settings.model_copy(update={"redis_url": f"redis://{CLOSED_PORT}/0"}))
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert failing(body) == ["redis"]
    assert body["checks"]["redis"]["backend"] == "redis"


async def test_dead_s3_endpoint_is_503(settings: Settings) -> None:
    dead = settings.model_copy(
        update={
            "storage_backend": "s3",
            "s3_endpoint_url": f"http://{CLOSED_PORT}",
            "s3_bucket": "voicegate-test",
            "aws_access_key_id": SecretStr("testing"),
            "aws_secret_access_key": SecretStr("testing"),
        }
    )
    response = await readiness(dead)
    assert response.status_code == 503
    body = response.json()
    assert failing(body) == ["storage"]
    assert "head_bucket" in body["checks"]["storage"]["error"]


async def test_missing_storage_is_503(settings: Settings, tmp_path: Path) -> None:
    """The suite's own storage, broken: a bucket that does not exist on S3, a root that is a file locally."""
    if settings.storage_backend == "s3":
        broken = settings.model_copy(update={"s3_bucket": "voicegate-no-such-bucket"})
    else:
        (tmp_path / "not-a-directory").write_text("")
        broken = settings.model_copy(update={"storage_local_dir": tmp_path / "not-a-directory"})
    response = await readiness(broken)
    assert response.status_code == 503
    assert failing(response.json()) == ["storage"]


async def test_healthz_stays_liveness_only(settings: Settings) -> None:
    dead = settings.model_copy(
        update={"database_url": f"postgresql+asyncpg://postgres@{CLOSED_PORT}/voicegate", "db_connect_timeout_s": 1.0}
    )
    async with client_for(dead) as http:
        response = await http.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
