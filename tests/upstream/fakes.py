"""A scripted fake Resemble behind `httpx.MockTransport`, plus a fake clock and a recording sleep."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

import httpx

API_KEY = "rk_live_0123456789abcdef"
BASE_URL = "https://app.resemble.ai/api/v2"
SYNTH_URL = "https://f.cluster.resemble.ai"

Handler = Callable[[httpx.Request], httpx.Response]
Step = httpx.Response | type[httpx.TransportError] | Handler


class FakeResemble:
    """Answers requests from a script of steps, one per request, and keeps every request it saw.

    A step is a response, an httpx transport error class (raised for that request), or a handler. When the
    script runs out, the fake answers 200 `{"success": true}`.
    """

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self._script: deque[Step] = deque()

    def then(self, *steps: Step) -> FakeResemble:
        self._script.extend(steps)
        return self

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self._script.popleft() if self._script else json_response(200, {"success": True})
        if isinstance(step, type):
            raise step("simulated by the test", request=request)
        if isinstance(step, httpx.Response):
            return step
        return step(request)

    @property
    def calls(self) -> int:
        return len(self.requests)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class RecordingSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)
