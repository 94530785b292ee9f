"""Mutable simulator state: the account's plan, injected faults, the request log, the voice catalogue and
run-time switches.

Everything lives on one `SimulatorState` held at `app.state.simulator`. A lock guards every mutation so
that tests reading the state from another thread (e.g. uvicorn in a background thread) see consistent data.
"""

from __future__ import annotations

import copy
import itertools
import re
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.requests import HTTPConnection

from .catalogue import VoiceCatalogue
from .jobs import JobEngine
from .plans import DEFAULT_PLAN, Plan

FaultMode = Literal[
    "status", "timeout", "reset", "malformed", "job_fail", "job_hang", "callback_repeat", "callback_drop"
]
FAULT_MODES: tuple[FaultMode, ...] = (
    "status",
    "timeout",
    "reset",
    "malformed",
    "job_fail",
    "job_hang",
    "callback_repeat",
    "callback_drop",
)
# Job modes do not touch the request: they shape the job that a matching submit request creates.
JOB_FAULT_MODES: frozenset[FaultMode] = frozenset({"job_fail", "job_hang", "callback_repeat", "callback_drop"})
DEFAULT_TIMEOUT_DELAY_MS = 30_000
DEFAULT_CALLBACK_REPEAT = 3
REQUEST_LOG_LIMIT = 1_000
VoiceDesignShape = Literal["array", "object"]
VOICE_DESIGN_SHAPES: tuple[VoiceDesignShape, ...] = ("array", "object")


@dataclass(frozen=True)
class SimulatorSettings:
    api_key: str | None
    seconds_per_char: float
    extra_api_keys: tuple[str, ...] = ()
    """More accounts, one per key, each with its own objects and wallet; `api_key` is the first account."""
    job_delay_s: float = 0.5
    webhook_secret: str | None = None
    voice_design_shape: VoiceDesignShape = "array"
    plan: Plan = DEFAULT_PLAN
    """The account's plan at start; `/_sim/plan` changes it while the simulator runs."""


@dataclass
class Fault:
    id: str
    path: str
    status: int
    count: int  # remaining injections; -1 = forever
    delay_ms: int
    mode: FaultMode
    pattern: re.Pattern[str] = field(repr=False)
    hits: int = 0
    repeat: int = DEFAULT_CALLBACK_REPEAT  # callback_repeat: deliveries of the completion callback
    message: str | None = None  # job_fail: the job's error message

    @property
    def is_job_fault(self) -> bool:
        return self.mode in JOB_FAULT_MODES

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "path": self.path,
            "status": self.status,
            "count": self.count,
            "delay_ms": self.delay_ms,
            "mode": self.mode,
            "hits": self.hits,
        }
        if self.mode == "callback_repeat":
            body["repeat"] = self.repeat
        if self.mode == "job_fail":
            body["message"] = self.message
        return body


def _accepted_keys(settings: SimulatorSettings) -> tuple[str, ...] | None:
    if settings.api_key is None:
        return None
    return (settings.api_key, *settings.extra_api_keys)


class SimulatorState:
    def __init__(
        self, settings: SimulatorSettings, voices: list[dict[str, Any]], *, jobs: JobEngine | None = None
    ) -> None:
        self.settings = settings
        self.jobs = jobs or JobEngine(delay_s=settings.job_delay_s, webhook_secret=settings.webhook_secret)
        self._lock = threading.Lock()
        self._fault_ids = itertools.count(1)
        self._faults: list[Fault] = []
        self._requests: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG_LIMIT)
        self.catalogue = VoiceCatalogue(voices, self.jobs)
        self._voice_design_shape: VoiceDesignShape = settings.voice_design_shape
        self._plan: Plan = settings.plan
        self.accepted_keys = _accepted_keys(settings)
        """The keys the simulator accepts, the first account's first (None: any non-empty key)."""

    def account_index(self, key: str) -> int | None:
        """The position of `key`'s account among the configured ones (0: the first), or None (any-key mode)."""
        keys = self.accepted_keys or ()
        return keys.index(key) if key in keys else None

    # plan

    @property
    def plan(self) -> Plan:
        with self._lock:
            return self._plan

    def set_plan(self, plan: Plan) -> None:
        with self._lock:
            self._plan = plan

    # faults

    def add_fault(
        self,
        *,
        path: str,
        status: int,
        count: int,
        delay_ms: int,
        mode: FaultMode,
        repeat: int = DEFAULT_CALLBACK_REPEAT,
        message: str | None = None,
    ) -> Fault:
        pattern = re.compile(path)
        with self._lock:
            fault = Fault(
                id=f"fault_{next(self._fault_ids)}",
                path=path,
                status=status,
                count=count,
                delay_ms=delay_ms,
                mode=mode,
                pattern=pattern,
                repeat=repeat,
                message=message,
            )
            self._faults.append(fault)
            return fault

    def faults(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def take_fault(self, path: str, *, job: bool = False) -> Fault | None:
        """Consume one injection of the oldest fault matching `path`; exhausted faults are dropped.

        `job=False` (the middleware) only sees request faults; `job=True` (a submit creating a job) only job faults.
        """
        with self._lock:
            for fault in self._faults:
                if fault.is_job_fault == job and fault.pattern.search(path):
                    fault.hits += 1
                    if fault.count > 0:
                        fault.count -= 1
                        if fault.count == 0:
                            self._faults.remove(fault)
                    return copy.copy(fault)
            return None

    # request log

    def record_request(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._requests.append(entry)

    def set_response_status(self, entry: dict[str, Any], status: int) -> None:
        with self._lock:
            entry["status"] = status

    def requests(self, account: str | None = None) -> list[dict[str, Any]]:
        """The log, oldest first; `account` keeps the requests of one account, named by its index or key last4."""
        with self._lock:
            entries = list(self._requests)
        if account is not None:
            entries = [e for e in entries if account in (str(e.get("account")), e.get("account_last4"))]
        return copy.deepcopy(entries)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    async def aclose(self) -> None:
        """Cancel pending callback deliveries and close the outbound client the simulator created itself."""
        await self.jobs.aclose()

    # voices

    def voices(self) -> list[dict[str, Any]]:
        return self.catalogue.all()

    def voice(self, voice_uuid: str) -> dict[str, Any] | None:
        return self.catalogue.get(voice_uuid)

    # run-time switches

    @property
    def voice_design_shape(self) -> VoiceDesignShape:
        """Which of the two documented `POST /voice-design` response shapes the simulator answers with."""
        with self._lock:
            return self._voice_design_shape

    def set_voice_design_shape(self, shape: VoiceDesignShape) -> None:
        with self._lock:
            self._voice_design_shape = shape


def get_state(conn: HTTPConnection) -> SimulatorState:
    state = conn.app.state.simulator
    assert isinstance(state, SimulatorState)
    return state
