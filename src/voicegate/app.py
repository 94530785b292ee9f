"""`create_app(settings)`: the lifespan builds every shared resource once, as one `Resources` on `app.state`."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

from fastapi import APIRouter, FastAPI
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from voicegate import __version__
from voicegate.api import build_router
from voicegate.config import Settings, get_settings
from voicegate.errors import install_exception_handlers
from voicegate.jobs.maintenance import run_forever
from voicegate.kit.dispatch import FlatDispatch
from voicegate.kit.httpmetrics import HttpMetricsMiddleware
from voicegate.kit.requestctx import RequestContextMiddleware
from voicegate.logging import configure_logging
from voicegate.resources import open_resources

log = logging.getLogger(__name__)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    async with open_resources(settings, app) as resources:
        app.state.resources = resources
        # SCHEDULER=celery: beat and the workers run the periodic tasks, never the gateway
        maintenance = asyncio.create_task(run_forever(resources)) if settings.scheduler == "inprocess" else None
        if settings.uses_simulator:
            log.warning("upstream_is_simulator: RESEMBLE_API_KEY is unset, answering from the bundled simulator")
        if settings.resemble_webhook_secret is None:
            log.warning("webhook_signatures_off: RESEMBLE_WEBHOOK_SECRET is unset, unsigned webhooks are accepted")
        try:
            yield
        finally:
            if maintenance is not None:
                maintenance.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await maintenance
            del app.state.resources


_serving: ContextVar[FastAPI] = ContextVar("voicegate_serving_app")


class _ServingAppOverrides:
    """The dependency overrides of the app serving the current request: the shared routes belong to no one app."""

    @property
    def dependency_overrides(self) -> dict[Callable[..., Any], Callable[..., Any]]:
        app = _serving.get(None)
        return app.dependency_overrides if app is not None else {}


@functools.cache
def _routes() -> tuple[BaseRoute, ...]:
    """The route tree, analysed once per process and shared by every app `create_app` builds.

    Including a router makes FastAPI analyse each operation (signature, dependencies, pydantic fields), ~0.5 s for
    the whole tree; a test suite that builds an app per test paid it on every test. The analysed routes keep no
    per-app state: handlers reach their app through `request.app`, and overrides are looked up on the serving app.
    Routers declare no lifespan or startup handlers (the app's lifespan builds every resource), so none is lost.
    """
    holder = APIRouter(dependency_overrides_provider=_ServingAppOverrides())
    holder.include_router(build_router())
    return tuple(holder.routes)


class Gateway(FastAPI):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = _serving.set(self)
        try:
            await super().__call__(scope, receive, send)
        finally:
            _serving.reset(token)

    def build_middleware_stack(self) -> ASGIApp:
        # Outermost, outside Starlette's ServerErrorMiddleware: a 500 and the line logging it carry the request id,
        # and the request counter sees the 500 it was answered with.
        return RequestContextMiddleware(HttpMetricsMiddleware(super().build_middleware_stack()))


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.effective_log_format)
    app = Gateway(title="voicegate", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    install_exception_handlers(app)
    app.router.routes.extend(_routes())
    app.router.middleware_stack = FlatDispatch(app.router, app.router.middleware_stack)
    return app
