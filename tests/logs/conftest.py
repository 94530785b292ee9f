"""A gateway whose log format is JSON (as in production) with its root handler's stream captured, line by line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests import services
from voicegate.app import create_app
from voicegate.config import Settings
from voicegate.logging import HANDLER_NAME, configure_logging


@dataclass
class Captured:
    stream: io.StringIO

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines() if line.strip()]

    def events(self, event: str) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line["event"] == event]

    @property
    def text(self) -> str:
        return self.stream.getvalue()


@dataclass
class JsonGateway:
    app: FastAPI
    client: httpx.AsyncClient
    logs: Captured


def root_handler() -> logging.Handler:
    return next(h for h in logging.getLogger().handlers if h.name == HANDLER_NAME)


async def start_json_gateway(settings: Settings, **overrides: Any) -> AsyncIterator[JsonGateway]:
    app = create_app(settings.model_copy(update={"log_format": "json", "log_level": "DEBUG", **overrides}))
    handler = root_handler()
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                yield JsonGateway(app, client, Captured(stream))
            await services.truncate_all(app.state.resources.engine)
    finally:
        if previous is not None:
            handler.setStream(previous)
        configure_logging(settings.log_level, settings.effective_log_format)


@pytest.fixture
async def gateway(settings: Settings) -> AsyncIterator[JsonGateway]:
    async for running in start_json_gateway(settings):
        yield running
