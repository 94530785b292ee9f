"""Shared fixtures. Backends follow the environment, so one suite runs on two stacks:

- embedded (default): SQLite file, in-process limiter, local storage, in-process simulator;
- services (`DATABASE_URL` set, as in CI): PostgreSQL, Redis (`REDIS_URL`), and S3 via moto's server when
  `TEST_STORAGE=s3`. With `CI=true` a configured service that cannot be reached fails the run; it never skips.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from tests import services
from tests.factories import enable_business_plan
from voicegate.app import create_app
from voicegate.config import Settings
from voicegate.db import migrate
from voicegate.db.models import ProviderResembleResource

IN_CI = os.environ.get("CI", "").lower() == "true"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "embedded_only: runs only on the embedded stack")


@pytest.fixture(scope="session")
def var_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("var")


@pytest.fixture(scope="session")
def database_url(var_dir: Path) -> str:
    url = os.environ.get("DATABASE_URL") or f"sqlite+aiosqlite:///{var_dir / 'test.db'}"
    services.require_database(url, in_ci=IN_CI)
    services.reset_database(url)
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
def redis_url() -> str | None:
    url = os.environ.get("REDIS_URL")
    if url:
        services.require_redis(url, in_ci=IN_CI)
    return url


@pytest.fixture(scope="session")
def storage_settings(var_dir: Path) -> Iterator[dict[str, object]]:
    if os.environ.get("TEST_STORAGE", "local") != "s3":
        yield {"storage_backend": "local", "storage_local_dir": var_dir / "storage"}
        return
    with services.moto_s3(in_ci=IN_CI) as endpoint:
        yield {
            "storage_backend": "s3",
            "s3_endpoint_url": endpoint,
            "s3_bucket": services.TEST_BUCKET,
            "s3_region": "us-east-1",
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing",
        }


def make_settings(
    var_dir: Path, database_url: str, redis_url: str | None, storage_settings: dict[str, object]
) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        var_dir=var_dir,
        database_url=database_url,
        redis_url=redis_url,
        admin_api_key="test-admin-key",
        jwt_secret="x" * 48,
        public_base_url="http://testserver",
        resemble_rate_limits={},
        simulator_job_delay_s=0.2,
        **storage_settings,
    )


@pytest.fixture
def settings(var_dir: Path, database_url: str, redis_url: str | None, storage_settings: dict[str, object]) -> Settings:
    return make_settings(var_dir, database_url, redis_url, storage_settings)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application
        await services.truncate_all(application.state.resources.engine)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def session(app: FastAPI) -> AsyncIterator[AsyncSession]:
    async with app.state.resources.sessionmaker() as db:
        yield db


@pytest.fixture
def simulator(app: FastAPI) -> httpx.AsyncClient:
    """A client for the in-process simulator's test hooks (`/_sim/faults`, `/_sim/requests`)."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app.state.resources.simulator), base_url="http://sim")


@pytest.fixture
async def business_plan(client: httpx.AsyncClient, simulator: httpx.AsyncClient) -> None:
    """The in-process simulator on Resemble's Business plan and the gateway's Business-plan gate open, so
    Business-only routes (voices, voice design) reach upstream and succeed."""
    await enable_business_plan(client, simulator)


@pytest.fixture
def ownership_writes_fail() -> Iterator[None]:
    """Make every flush that would insert an ownership row fail, as a database outage at that moment would."""

    def refuse(session: Session, *_: object) -> None:
        if any(isinstance(obj, ProviderResembleResource) for obj in session.new):
            raise OperationalError("INSERT INTO provider_resemble_resource", {}, Exception("database unavailable"))

    event.listen(Session, "before_flush", refuse)
    yield
    event.remove(Session, "before_flush", refuse)
