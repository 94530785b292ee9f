"""Everything a gateway process shares between requests, built once by the app's lifespan and closed with it.

One typed object instead of loose `app.state` attributes: routes reach it through `ResourcesDep`, background tasks
are handed it. It holds clients, pools and caches of plain immutable data only: an ORM instance belongs to the
session that loaded it and must never be kept here (a rollback in any later request would expire it).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from celery import Celery
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from voicegate.auth.service import CREDENTIAL_CACHE_TTL_S, Principal
from voicegate.billing.pricing import RateCard
from voicegate.byok.service import ByokKeys
from voicegate.config import Settings
from voicegate.db.session import create_engine, create_sessionmaker
from voicegate.jobs.broker import build_celery
from voicegate.jobs.locks import TaskLocks, build_task_locks
from voicegate.kit.cache import TtlCache
from voicegate.kit.tls import verified_context
from voicegate.kit.transports import RoutingTransport
from voicegate.ratelimit.base import Limiter
from voicegate.ratelimit.factory import build_limiter
from voicegate.resemble.streaming.slots import StreamSlots, build_stream_slots
from voicegate.resemble.voices.catalogue import VoiceCatalogue
from voicegate.runtime_settings.reader import RuntimeSettings
from voicegate.storage.base import StorageBackend
from voicegate.storage.factory import build_storage
from voicegate.upstream.client import ResembleClient
from voicegate.upstream.streaming import StreamConnector
from voicegate.webhooks import outbound as outbound_webhooks

log = logging.getLogger(__name__)

SIMULATOR_HOST = "http://resemble-simulator.internal"
SIMULATOR_KEY = "simulator"
"""The gateway's own key on the in-process simulator: its first account."""


@dataclass(frozen=True)
class Resources:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    storage: StorageBackend
    limiter: Limiter
    upstream: ResembleClient
    simulator: FastAPI | None
    """The in-process simulator when RESEMBLE_API_KEY is unset (tests reach its `/_sim` hooks through it)."""
    media_http: httpx.AsyncClient
    """Fetches users' media URLs (behind the SSRF guard)."""
    webhook_http: httpx.AsyncClient
    """Delivers results to users' `callback_uri`: no proxies from the environment, no redirects."""
    rate_card: RateCard
    credentials: TtlCache[Principal]
    """Who a credential belongs to, for a few seconds (see `auth.service`)."""
    voices: VoiceCatalogue
    """The shared account's voice catalogue, a short-lived snapshot (see `resemble.voices.catalogue`)."""
    runtime_settings: RuntimeSettings
    """Admin-switchable settings as last read from the database, for a few seconds (see `runtime_settings`)."""
    task_locks: TaskLocks
    """One periodic task run at a time across every process (see `jobs.locks`)."""
    byok: ByokKeys
    """Users' own Resemble keys: whose account a call goes to, and its client per key (see `byok.service`)."""
    task_sender: Celery | None
    """With SCHEDULER=celery, where request-enqueued work is sent (see `jobs.queue`); None runs it in-process."""
    stream_upstream: StreamConnector
    """Opens Resemble's streaming TTS WebSocket, or its in-process simulator's (see `upstream.streaming`)."""
    stream_slots: StreamSlots
    """Each user's open streaming sockets, across processes with Redis (see `resemble.streaming.slots`)."""


def build_upstream(
    settings: Settings, gateway: FastAPI, stack: contextlib.AsyncExitStack
) -> tuple[ResembleClient, FastAPI | None]:
    """The real Resemble API, or the bundled simulator in-process (returned too) when RESEMBLE_API_KEY is unset.

    The in-process simulator reaches back to the gateway (media links, callbacks) as Resemble would over HTTP; its
    requests to PUBLIC_BASE_URL's host are routed to the gateway app directly, everything else goes out.
    """
    if not settings.uses_simulator:
        client = ResembleClient.from_settings(settings)
        stack.push_async_callback(client.aclose)
        return client, None
    from voicegate.simulator import close_simulator_app, create_simulator_app

    simulator_outbound = httpx.AsyncClient(
        transport=RoutingTransport({settings.public_base_url: httpx.ASGITransport(app=gateway)}),
        timeout=settings.media_fetch_timeout_s,
    )
    stack.push_async_callback(simulator_outbound.aclose)
    # With extra accounts configured the simulator knows exactly these keys (a wrong key is refused, as by Resemble).
    extra_keys = tuple(settings.simulator_api_keys)
    simulator = create_simulator_app(
        api_key=SIMULATOR_KEY if extra_keys else None,
        extra_api_keys=extra_keys,
        outbound=simulator_outbound,
        job_delay_s=settings.simulator_job_delay_s,
        plan=settings.simulator_plan,
        webhook_secret=(
            settings.resemble_webhook_secret.get_secret_value() if settings.resemble_webhook_secret else None
        ),
    )
    stack.push_async_callback(close_simulator_app, simulator)  # no lifespan runs for an in-process app
    simulator.state.gateway_outbound = simulator_outbound  # its line back to us, which tests can cut
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=simulator),
        timeout=httpx.Timeout(settings.resemble_read_timeout_s, connect=settings.resemble_connect_timeout_s),
    )
    simulated = settings.model_copy(
        update={
            "resemble_base_url": f"{SIMULATOR_HOST}/api/v2",
            "resemble_synth_url": SIMULATOR_HOST,
            "resemble_billing_base_url": f"{SIMULATOR_HOST}/api/v2",
            "resemble_api_key": SecretStr(SIMULATOR_KEY),
        }
    )
    client = ResembleClient.from_settings(simulated, http=http)
    stack.push_async_callback(client.aclose)
    return client, simulator


def build_stream_connector(settings: Settings, simulator: FastAPI | None) -> StreamConnector:
    """Resemble's streaming WebSocket with our key, or the in-process simulator's over an in-memory bridge."""
    timeout_s = settings.resemble_connect_timeout_s
    if simulator is not None:
        return StreamConnector(url=SIMULATOR_HOST, api_key="simulator", connect_timeout_s=timeout_s, app=simulator)
    key = settings.resemble_api_key.get_secret_value() if settings.resemble_api_key else ""
    return StreamConnector(url=settings.resemble_stream_url, api_key=key, connect_timeout_s=timeout_s)


@asynccontextmanager
async def open_resources(settings: Settings, gateway: FastAPI) -> AsyncIterator[Resources]:
    """Build every shared resource for `gateway`; on exit close them in reverse order, whatever failed."""
    async with contextlib.AsyncExitStack() as stack:
        engine = create_engine(
            settings.effective_database_url,
            pool_size=settings.db_pool_size,
            pool_timeout_s=settings.db_pool_timeout_s,
            connect_timeout_s=settings.db_connect_timeout_s,
        )
        stack.push_async_callback(engine.dispose)
        storage = build_storage(settings)
        close_storage = getattr(storage, "close", None)
        if close_storage is not None:
            stack.callback(close_storage)
        limiter = build_limiter(settings)
        stack.push_async_callback(limiter.close)
        upstream, simulator = build_upstream(settings, gateway, stack)
        media_http = httpx.AsyncClient(
            timeout=settings.media_fetch_timeout_s, follow_redirects=False, verify=verified_context()
        )
        stack.push_async_callback(media_http.aclose)
        webhook_http = outbound_webhooks.build_client()
        stack.push_async_callback(webhook_http.aclose)
        sessionmaker = create_sessionmaker(engine)
        task_locks = build_task_locks(settings.redis_url, sessionmaker)
        stack.push_async_callback(task_locks.close)
        task_sender = build_celery(settings) if settings.scheduler == "celery" else None
        if task_sender is not None:
            stack.callback(task_sender.close)
        rate_card = RateCard(settings.resemble_markup_pct, settings.resemble_rates)
        stream_slots = build_stream_slots(settings.redis_url)
        stack.push_async_callback(stream_slots.close)
        yield Resources(
            settings=settings,
            engine=engine,
            sessionmaker=sessionmaker,
            storage=storage,
            limiter=limiter,
            upstream=upstream,
            simulator=simulator,
            media_http=media_http,
            webhook_http=webhook_http,
            rate_card=rate_card,
            credentials=TtlCache(ttl_s=CREDENTIAL_CACHE_TTL_S),
            voices=VoiceCatalogue(upstream),
            runtime_settings=RuntimeSettings(sessionmaker, settings, ttl_s=settings.runtime_settings_ttl_s),
            task_locks=task_locks,
            byok=ByokKeys(settings, sessionmaker, upstream, rate_card),
            task_sender=task_sender,
            stream_upstream=build_stream_connector(settings, simulator),
            stream_slots=stream_slots,
        )
