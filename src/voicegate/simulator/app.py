"""The Resemble simulator: one ASGI app serving both Resemble hosts.

- app API (`https://app.resemble.ai/api/v2`)  -> `{base}/api/v2/...`
- synthesis server (`https://f.cluster.resemble.ai`) -> `{base}/synthesize`
- test hooks (no auth) -> `{base}/_sim/...`
"""

from __future__ import annotations

from fastapi import FastAPI

from . import hooks, synthesis, voices
from .errors import install_error_handlers
from .middleware import SimulatorMiddleware
from .state import SimulatorSettings, SimulatorState
from .voices import SEEDED_VOICES

DEFAULT_API_KEY = "sim-key"


def create_simulator_app(api_key: str | None = DEFAULT_API_KEY, *, seconds_per_char: float = 0.06) -> FastAPI:
    """Build a fresh simulator. `api_key=None` accepts any non-empty key."""
    if api_key == "":
        raise ValueError("api_key must be non-empty, or None to accept any key")
    if seconds_per_char <= 0:
        raise ValueError("seconds_per_char must be positive")
    state = SimulatorState(SimulatorSettings(api_key=api_key, seconds_per_char=seconds_per_char), list(SEEDED_VOICES))
    app = FastAPI(title="Resemble simulator", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.simulator = state
    install_error_handlers(app)
    app.include_router(hooks.router)
    app.include_router(voices.router)
    app.include_router(synthesis.router)
    app.add_middleware(SimulatorMiddleware, state=state)
    return app
