"""The Resemble simulator: one ASGI app serving every Resemble host.

- app API (`https://app.resemble.ai/api/v2`)  -> `{base}/api/v2/...`
- synthesis server (`https://f.cluster.resemble.ai`) -> `{base}/synthesize`, `{base}/stream`
- streaming WebSocket (`wss://websocket.cluster.resemble.ai/stream`) -> `{base}/stream` (see `ws_stream`)
- test hooks and signed media URLs (no auth) -> `{base}/_sim/...`

Asynchronous jobs (STT, enhancement, edit, detect, intelligence, watermark) settle `job_delay_s` after they are
submitted. Callback deliveries run as background tasks on the serving event loop: the app's lifespan cancels them
and closes the outbound client on shutdown. Hosts that mount the app without running its lifespan (e.g. behind
`httpx.ASGITransport`) must `await app.state.simulator.aclose()` when they are done with it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from . import (
    agents,
    detect,
    edit,
    enhance,
    hooks,
    knowledge,
    projects,
    recordings,
    streaming,
    synthesis,
    transcripts,
    voice_design,
    voices,
    wallet,
    watermark,
    ws_stream,
)
from .accounts import Accounts
from .errors import install_error_handlers
from .identity import Identities
from .identity import router as identity_router
from .jobs import JobEngine
from .middleware import SimulatorMiddleware
from .plans import DEFAULT_PLAN, PLANS, Plan
from .state import VOICE_DESIGN_SHAPES, SimulatorSettings, SimulatorState, VoiceDesignShape
from .voices import SEEDED_VOICES

DEFAULT_API_KEY = "sim-key"
DEFAULT_JOB_DELAY_S = 0.5


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    try:
        yield
    finally:
        state = app.state.simulator
        assert isinstance(state, SimulatorState)
        await state.aclose()


def create_simulator_app(
    api_key: str | None = DEFAULT_API_KEY,
    *,
    extra_api_keys: Sequence[str] = (),
    seconds_per_char: float = 0.06,
    job_delay_s: float = DEFAULT_JOB_DELAY_S,
    outbound: httpx.AsyncClient | None = None,
    webhook_secret: str | None = None,
    sync_wait_limit_s: float = 30.0,
    voice_design_shape: VoiceDesignShape = "array",
    plan: Plan = DEFAULT_PLAN,
    stream_chunk_delay_s: float = streaming.DEFAULT_CHUNK_DELAY_S,
) -> FastAPI:
    """Build a fresh simulator. `api_key=None` accepts any non-empty key.

    - `extra_api_keys`: more accounts, one per key (with `api_key`, the first); each has its own objects and
      wallet, and the request log names the account of every request (`/_sim/requests?account=<index|last4>`).

    - `job_delay_s`: asynchronous jobs are `pending`, then `processing` from half this delay, then settle.
    - `outbound`: the client used to fetch input URLs and to deliver callbacks (created lazily when None,
      and then closed by `aclose()`; an injected client is left open).
    - `webhook_secret`: when set, callbacks carry `X-Resemble-Signature: hex(HMAC-SHA256(secret, raw body))`.
    - `sync_wait_limit_s`: the longest a synchronous call (`Prefer: wait`, intelligence without
      `callback_url`) waits for its job before answering with the job as it stands.
    - `voice_design_shape`: which documented `POST /voice-design` reply to give, "array" (default) or "object";
      `PUT /_sim/voice-design/shape` switches it at run time.
    - `plan`: the account's Resemble plan; on `flex` Business-only calls answer 403 (`/_sim/plan` changes it).
    - `stream_chunk_delay_s`: the pause before each 100 ms chunk of `POST /stream`.
    """
    if api_key == "":
        raise ValueError("api_key must be non-empty, or None to accept any key")
    if extra_api_keys and api_key is None:
        raise ValueError("extra_api_keys need api_key: the first account's key")
    if any(not key for key in extra_api_keys) or len({api_key, *extra_api_keys}) != len(extra_api_keys) + 1:
        raise ValueError("extra_api_keys must be non-empty and distinct from each other and from api_key")
    if seconds_per_char <= 0:
        raise ValueError("seconds_per_char must be positive")
    if job_delay_s < 0:
        raise ValueError("job_delay_s must not be negative")
    if sync_wait_limit_s < 0:
        raise ValueError("sync_wait_limit_s must not be negative")
    if stream_chunk_delay_s < 0:
        raise ValueError("stream_chunk_delay_s must not be negative")
    if voice_design_shape not in VOICE_DESIGN_SHAPES:
        raise ValueError(f"voice_design_shape must be one of {', '.join(VOICE_DESIGN_SHAPES)}")
    if plan not in PLANS:
        raise ValueError(f"plan must be one of {', '.join(PLANS)}")
    settings = SimulatorSettings(
        api_key=api_key,
        extra_api_keys=tuple(extra_api_keys),
        seconds_per_char=seconds_per_char,
        job_delay_s=job_delay_s,
        webhook_secret=webhook_secret,
        voice_design_shape=voice_design_shape,
        plan=plan,
    )
    engine = JobEngine(
        delay_s=job_delay_s, outbound=outbound, webhook_secret=webhook_secret, sync_wait_limit_s=sync_wait_limit_s
    )
    engine.extra_keys = frozenset(extra_api_keys)
    state = SimulatorState(settings, list(SEEDED_VOICES), jobs=engine)
    app = FastAPI(title="Resemble simulator", docs_url=None, redoc_url=None, openapi_url=None, lifespan=_lifespan)
    app.state.simulator = state
    app.state.accounts = Accounts()
    app.state.identities = Identities()
    app.state.streams = streaming.StreamLog(stream_chunk_delay_s)
    install_error_handlers(app)
    app.include_router(hooks.router)
    app.include_router(voices.router)
    app.include_router(recordings.router)
    app.include_router(voice_design.router)
    app.include_router(synthesis.router)
    app.include_router(streaming.router)
    app.include_router(transcripts.router)
    app.include_router(enhance.router)
    app.include_router(edit.router)
    app.include_router(detect.router)
    app.include_router(watermark.router)
    app.include_router(projects.router)
    app.include_router(agents.router)
    app.include_router(knowledge.router)
    app.include_router(identity_router)
    app.include_router(wallet.router)
    app.include_router(ws_stream.router)
    app.add_middleware(SimulatorMiddleware, state=state)
    return app


async def close_simulator_app(app: FastAPI) -> None:
    """Cancel pending callbacks and close the simulator's own outbound client (for hosts without lifespan)."""
    await app.state.simulator.aclose()
