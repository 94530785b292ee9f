"""`create_app(settings)`: the lifespan builds every shared resource once and puts it on `app.state`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from pydantic import SecretStr

from voicegate import __version__
from voicegate.api import build_router
from voicegate.auth.service import principals
from voicegate.billing.pricing import RateCard
from voicegate.config import Settings, get_settings
from voicegate.db.session import create_engine, create_sessionmaker
from voicegate.errors import install_exception_handlers
from voicegate.jobs.maintenance import run_forever
from voicegate.kit.transports import RoutingTransport
from voicegate.logging import configure_logging
from voicegate.ratelimit.factory import build_limiter
from voicegate.resemble.tts.service import catalogue as voice_catalogue
from voicegate.simulator import close_simulator_app
from voicegate.storage.factory import build_storage
from voicegate.upstream.client import ResembleClient

log = logging.getLogger(__name__)

SIMULATOR_HOST = "http://resemble-simulator.internal"


def build_upstream(settings: Settings, gateway: FastAPI) -> tuple[ResembleClient, FastAPI | None]:
    """The real Resemble API, or the bundled simulator in-process (returned too) when RESEMBLE_API_KEY is unset.

    The in-process simulator reaches back to the gateway (media links, callbacks) as Resemble would over HTTP; its
    requests to PUBLIC_BASE_URL's host are routed to the gateway app directly, everything else goes out.
    """
    if not settings.uses_simulator:
        return ResembleClient.from_settings(settings), None
    from voicegate.simulator import create_simulator_app

    simulator_outbound = httpx.AsyncClient(
        transport=RoutingTransport({settings.public_base_url: httpx.ASGITransport(app=gateway)}),
        timeout=settings.media_fetch_timeout_s,
    )
    simulator = create_simulator_app(
        api_key=None,
        outbound=simulator_outbound,
        job_delay_s=settings.simulator_job_delay_s,
        webhook_secret=(
            settings.resemble_webhook_secret.get_secret_value() if settings.resemble_webhook_secret else None
        ),
    )
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=simulator),
        timeout=httpx.Timeout(settings.resemble_read_timeout_s, connect=settings.resemble_connect_timeout_s),
    )
    simulated = settings.model_copy(
        update={
            "resemble_base_url": f"{SIMULATOR_HOST}/api/v2",
            "resemble_synth_url": SIMULATOR_HOST,
            "resemble_api_key": SecretStr("simulator"),
        }
    )
    simulator.state.gateway_outbound = simulator_outbound  # closed with the gateway (no lifespan runs in-process)
    return ResembleClient.from_settings(simulated, http=http), simulator


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    principals.clear()  # process-wide caches start empty with each app
    voice_catalogue.clear()
    engine = create_engine(
        settings.effective_database_url,
        pool_size=settings.db_pool_size,
        pool_timeout_s=settings.db_pool_timeout_s,
        connect_timeout_s=settings.db_connect_timeout_s,
    )
    app.state.engine = engine
    app.state.sessionmaker = create_sessionmaker(engine)
    app.state.storage = build_storage(settings)
    app.state.limiter = build_limiter(settings)
    app.state.upstream, app.state.simulator = build_upstream(settings, app)
    app.state.outbound = httpx.AsyncClient(timeout=settings.media_fetch_timeout_s, follow_redirects=False)
    maintenance = asyncio.create_task(run_forever(app.state))
    if settings.uses_simulator:
        log.warning("upstream_is_simulator: RESEMBLE_API_KEY is unset, answering from the bundled simulator")
    if settings.resemble_webhook_secret is None:
        log.warning("webhook_signatures_off: RESEMBLE_WEBHOOK_SECRET is unset, unsigned webhooks are accepted")
    try:
        yield
    finally:
        maintenance.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await maintenance
        await app.state.upstream.aclose()
        await app.state.outbound.aclose()
        if app.state.simulator is not None:
            await close_simulator_app(app.state.simulator)
            await app.state.simulator.state.gateway_outbound.aclose()
        await app.state.limiter.close()
        close_storage = getattr(app.state.storage, "close", None)
        if close_storage is not None:
            close_storage()
        await engine.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    app = FastAPI(title="voicegate", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.state.rate_card = RateCard(settings.resemble_markup_pct, settings.resemble_rates)
    install_exception_handlers(app)
    app.include_router(build_router(settings))
    return app
