"""`create_app(settings)`: the lifespan builds every shared resource once, as one `Resources` on `app.state`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from voicegate import __version__
from voicegate.api import build_router
from voicegate.config import Settings, get_settings
from voicegate.errors import install_exception_handlers
from voicegate.jobs.maintenance import run_forever
from voicegate.logging import configure_logging
from voicegate.resources import open_resources

log = logging.getLogger(__name__)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    async with open_resources(settings, app) as resources:
        app.state.resources = resources
        maintenance = asyncio.create_task(run_forever(resources))
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
            del app.state.resources


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    app = FastAPI(title="voicegate", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    install_exception_handlers(app)
    app.include_router(build_router(settings))
    return app
