from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
import redis

from voicegate.config import Settings
from voicegate.ratelimit import Limiter, build_limiter
from voicegate.ratelimit.factory import redacted_url

MakeLimiter = Callable[..., Awaitable[Limiter]]

DEFAULT_TEST_REDIS_URL = "redis://127.0.0.1:6379/15"


def make_settings(redis_url: str | None, overrides: dict[str, Any] | None = None) -> Settings:
    return Settings(
        _env_file=None,
        voicegate_env="development",
        redis_url=redis_url,
        resemble_rate_limits=overrides or {},
    )


@pytest.fixture(scope="session")
def limiter_redis_url() -> str:
    """The Redis these tests use: REDIS_URL, else db 15 locally. Unreachable: skip locally, fail on CI."""
    url = os.environ.get("REDIS_URL") or DEFAULT_TEST_REDIS_URL
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        client.ping()
    except redis.RedisError as exc:
        reason = f"Redis at {redacted_url(url)} is unreachable ({type(exc).__name__}: {exc})"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}; CI must provide REDIS_URL", pytrace=False)
        pytest.skip(reason)
    finally:
        client.close()
    return url


@pytest.fixture
def redis_urls_used() -> set[str]:
    return set()


@pytest.fixture
def namespace(redis_urls_used: set[str]) -> Iterator[str]:
    """A key namespace unique to this test; afterwards only its keys are deleted from the Redis used."""
    ns = f"voicegate-test-{uuid.uuid4().hex}"
    yield ns
    for url in redis_urls_used:
        client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            keys = list(client.scan_iter(match=f"{ns}:*"))
            if keys:
                client.delete(*keys)
        finally:
            client.close()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def backend(request: pytest.FixtureRequest) -> str | None:
    """None for the in-process store, else the Redis URL: parametrises tests over both stores."""
    if request.param == "memory":
        return None
    url: str = request.getfixturevalue("limiter_redis_url")
    return url


@pytest.fixture
async def make_limiter(backend: str | None, namespace: str, redis_urls_used: set[str]) -> AsyncIterator[MakeLimiter]:
    """Builds limiters through the real factory on the parametrised store and closes them after the test."""
    async with _limiter_builder(backend, namespace, redis_urls_used) as make:
        yield make


@pytest.fixture
async def make_redis_limiter(
    limiter_redis_url: str, namespace: str, redis_urls_used: set[str]
) -> AsyncIterator[MakeLimiter]:
    """Like `make_limiter`, on the real Redis only."""
    async with _limiter_builder(limiter_redis_url, namespace, redis_urls_used) as make:
        yield make


@contextlib.asynccontextmanager
async def _limiter_builder(url: str | None, namespace: str, redis_urls_used: set[str]) -> AsyncIterator[MakeLimiter]:
    built: list[Limiter] = []
    if url is not None:
        redis_urls_used.add(url)

    async def make(overrides: dict[str, Any] | None = None) -> Limiter:
        limiter = build_limiter(make_settings(url, overrides), namespace=namespace)
        built.append(limiter)
        return limiter

    try:
        yield make
    finally:
        for limiter in built:
            await limiter.close()
