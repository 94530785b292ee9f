"""The asynchronous job engine: lazily computed job status, signed media URLs, uploads, input fetches, callbacks.

A job never runs: its status is a function of the time elapsed since it was created, measured against the
configured processing delay (pending, then processing from delay/2, then completed or failed at delay). The
outcome is decided when the job is created (an unfetchable input or a `job_fail` fault fails it, `job_hang`
keeps it processing forever). The only background work is callback delivery: one task per job that has a
callback URL, cancelled by `aclose()`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import logging
import secrets
import threading
import time
import uuid as uuid_lib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import httpx

from .accounts import current_account
from .media import CONTENT_TYPES
from .wallet import Wallet

log = logging.getLogger(__name__)

Outcome = Literal["complete", "fail", "hang"]
Status = Literal["pending", "processing", "completed", "failed"]
JobKind = Literal[
    "stt",
    "enhance",
    "edit",
    "detect",
    "intelligence",
    "tracing",
    "watermark_apply",
    "watermark_detect",
    "voice_build",
]

MEDIA_PREFIX = "/_sim/media"
SIGNATURE_HEADER = "X-Resemble-Signature"
UPLOAD_TTL_S = 3600.0
CALLBACK_LOG_LIMIT = 1_000
OUTBOUND_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
_MEDIA_MAX_FETCH_BYTES = 512 * 1024 * 1024

# (job, base URL) -> the JSON body that `GET` on the job returns
BodyFn = Callable[["Job", str], dict[str, Any]]


class FetchError(Exception):
    """An input URL could not be fetched; the message becomes the job's error message."""


@dataclass
class Job:
    uuid: str
    kind: JobKind
    started: float  # monotonic seconds
    created_at: datetime
    outcome: Outcome
    error: str | None
    base_url: str  # of the request that created the job; used for callback bodies
    data: dict[str, Any] = field(default_factory=dict)  # kind-specific facts fixed at creation
    callback_url: str | None = None
    callback_repeat: int = 1
    body: BodyFn | None = field(default=None, repr=False)
    seq: int = 0


@dataclass(frozen=True)
class StoredMedia:
    content_type: str
    data: bytes | None = None
    render: Callable[[], bytes] | None = field(default=None, repr=False)
    size_hint: int = 0  # bytes the render will produce; big renders run in a worker thread
    expires: float | None = None  # monotonic; None = kept for the simulator's lifetime


@dataclass(frozen=True)
class Upload:
    data: bytes
    filename: str | None
    content_type: str | None
    expires: float  # monotonic


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def media_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}{MEDIA_PREFIX}/{token}"


def sign(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class JobEngine:
    def __init__(
        self,
        *,
        delay_s: float,
        outbound: httpx.AsyncClient | None = None,
        webhook_secret: str | None = None,
        sync_wait_limit_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.delay_s = delay_s
        self.webhook_secret = webhook_secret
        self.sync_wait_limit_s = sync_wait_limit_s
        self.clock = clock  # replaceable, e.g. by tests that step time by hand
        self._outbound = outbound
        self._owns_outbound = outbound is None
        self._lock = threading.Lock()
        self._seq = itertools.count(1)
        self._jobs: dict[str, Job] = {}
        self._media: dict[str, StoredMedia] = {}
        self._uploads: dict[str, Upload] = {}
        self._callbacks: deque[dict[str, Any]] = deque(maxlen=CALLBACK_LOG_LIMIT)
        self._tasks: set[asyncio.Task[None]] = set()
        self.primary_wallet = Wallet(clock=self.now)  # what the first account was charged: its jobs land here
        self._wallets: dict[str, Wallet] = {}
        self.extra_keys: frozenset[str] = frozenset()
        """Keys of the accounts after the first, each with a wallet of its own."""

    @property
    def wallet(self) -> Wallet:
        """The wallet of the account serving the current request: an extra account's own, else the first's (test
        hooks, which name no account, see the first)."""
        key = current_account.get()
        if key is None or key not in self.extra_keys:
            return self.primary_wallet
        with self._lock:
            return self._wallets.setdefault(key, Wallet(clock=self.now))

    # time and status

    def now(self) -> float:
        return self.clock()

    def status(self, job: Job) -> Status:
        elapsed = self.now() - job.started
        if job.outcome != "hang" and elapsed >= self.delay_s:
            return "completed" if job.outcome == "complete" else "failed"
        return "processing" if elapsed >= self.delay_s / 2 else "pending"

    def updated_at(self, job: Job) -> datetime:
        """When the job last changed status (deterministic: the transitions happen at fixed offsets)."""
        status = self.status(job)
        if status == "pending":
            return job.created_at
        offset = self.delay_s / 2 if status == "processing" else self.delay_s
        return job.created_at + timedelta(seconds=offset)

    def settles_in(self, job: Job) -> float | None:
        """Seconds until the job reaches its final status; None if it never will (hang)."""
        if job.outcome == "hang":
            return None
        return max(0.0, job.started + self.delay_s - self.now())

    async def wait_settled(self, job: Job, limit_s: float | None = None) -> None:
        """Sleep until the job is completed or failed, at most `limit_s` (default: the sync wait limit)."""
        deadline = self.now() + (self.sync_wait_limit_s if limit_s is None else limit_s)
        # Loop: event-loop timers (uvloop's are millisecond-grained) may wake a little before the job's moment.
        while (remaining := self.settles_in(job)) != 0.0 and (left := deadline - self.now()) > 0:  # noqa: ASYNC110 - waiting for a moment in time, not an event
            await asyncio.sleep(left if remaining is None else min(remaining + 0.001, left))

    # jobs

    def new_job(
        self,
        kind: JobKind,
        *,
        base_url: str,
        outcome: Outcome = "complete",
        error: str | None = None,
        data: dict[str, Any] | None = None,
        callback_url: str | None = None,
        callback_repeat: int = 1,
        started: float | None = None,
        created_at: datetime | None = None,
        billed: bool = True,
    ) -> Job:
        """Create a job; `billed=False` for a sub-analysis that its parent job's charge already covers."""
        job = Job(
            uuid=str(uuid_lib.uuid4()),
            kind=kind,
            started=self.now() if started is None else started,
            created_at=created_at or datetime.now(UTC),
            outcome=outcome,
            error=error,
            base_url=base_url,
            data=data or {},
            callback_url=callback_url,
            callback_repeat=callback_repeat,
            seq=next(self._seq),
        )
        with self._lock:
            self._jobs[job.uuid] = job
        if billed:
            self.wallet.charge_job(job, self.delay_s)
        return job

    def get(self, kind: JobKind, job_uuid: str) -> Job | None:
        with self._lock:
            job = self._jobs.get(job_uuid)
        return job if job is not None and job.kind == kind else None

    def remove(self, kind: JobKind, job_uuid: str) -> bool:
        """Forget a job of `kind` (DELETE /detect/{uuid}); False when there was none."""
        with self._lock:
            job = self._jobs.get(job_uuid)
            if job is None or job.kind != kind:
                return False
            del self._jobs[job_uuid]
        return True

    def jobs(self, kind: JobKind) -> list[Job]:
        """Newest first."""
        with self._lock:
            found = [job for job in self._jobs.values() if job.kind == kind]
        return sorted(found, key=lambda job: job.seq, reverse=True)

    # signed media

    def store_media(
        self,
        extension: str,
        *,
        data: bytes | None = None,
        render: Callable[[], bytes] | None = None,
        size_hint: int = 0,
        ttl_s: float | None = None,
    ) -> str:
        """Register a file and return its unguessable URL token (`<random>.<ext>`); `ttl_s` makes the link expire."""
        token = f"{secrets.token_urlsafe(24)}.{extension}"
        content_type = CONTENT_TYPES.get(extension, CONTENT_TYPES["bin"])
        expires = None if ttl_s is None else self.now() + ttl_s
        with self._lock:
            self._media[token] = StoredMedia(content_type, data, render, size_hint, expires)
        return token

    def media(self, token: str) -> StoredMedia | None:
        with self._lock:
            found = self._media.get(token)
        if found is not None and found.expires is not None and found.expires <= self.now():
            return None
        return found

    # secure uploads

    def add_upload(self, data: bytes, filename: str | None, content_type: str | None) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._uploads[token] = Upload(data, filename, content_type, self.now() + UPLOAD_TTL_S)
        return token

    def upload(self, token: str) -> Upload | None:
        with self._lock:
            found = self._uploads.get(token)
        return found if found is not None and found.expires > self.now() else None

    # outbound HTTP

    def outbound(self) -> httpx.AsyncClient:
        if self._outbound is None:
            self._outbound = httpx.AsyncClient(timeout=OUTBOUND_TIMEOUT, follow_redirects=True)
        return self._outbound

    async def fetch(self, url: str) -> bytes:
        """GET an input URL like Resemble's workers would; every failure is a `FetchError`."""
        try:
            async with self.outbound().stream("GET", url, follow_redirects=True) as response:
                if response.status_code >= 400:
                    raise FetchError(f"Could not fetch media from {url}: HTTP {response.status_code}")
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > _MEDIA_MAX_FETCH_BYTES:
                        raise FetchError(f"Could not fetch media from {url}: file too large")
                    chunks.append(chunk)
        except FetchError:
            raise
        except Exception as exc:  # transport errors, and app errors re-raised by in-process transports
            raise FetchError(f"Could not fetch media from {url}: {type(exc).__name__}: {exc}") from None
        data = b"".join(chunks)
        if not data:
            raise FetchError(f"Could not fetch media from {url}: empty response")
        return data

    # callbacks

    def schedule_callback(self, job: Job) -> None:
        """Deliver the job's final GET body to its callback URL once it settles (never, if it hangs)."""
        if job.callback_url is None or job.outcome == "hang" or job.body is None:
            return
        task = asyncio.get_running_loop().create_task(self._deliver(job), name=f"sim-callback-{job.uuid}")
        with self._lock:
            self._tasks.add(task)
        task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task[None]) -> None:
        with self._lock:
            self._tasks.discard(task)

    async def _deliver(self, job: Job) -> None:
        assert job.callback_url is not None
        assert job.body is not None
        await asyncio.sleep(self.settles_in(job) or 0.0)
        try:
            raw = json.dumps(job.body(job, job.base_url), separators=(",", ":")).encode()
        except Exception:
            log.exception("simulator callback body failed for job %s", job.uuid)
            return
        headers = {"Content-Type": "application/json"}
        if self.webhook_secret is not None:
            headers[SIGNATURE_HEADER] = sign(raw, self.webhook_secret)
        for attempt in range(1, job.callback_repeat + 1):
            entry: dict[str, Any] = {
                "url": job.callback_url,
                "job_uuid": job.uuid,
                "attempt": attempt,
                "status_code": None,
                "error": None,
                "sent_at": iso(datetime.now(UTC)),
            }
            try:
                response = await self.outbound().post(job.callback_url, content=raw, headers=headers)
                entry["status_code"] = response.status_code
                if response.status_code >= 400:
                    log.warning("simulator callback to %s answered %s", job.callback_url, response.status_code)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                entry["error"] = f"{type(exc).__name__}: {exc}"
                log.warning("simulator callback to %s failed: %s", job.callback_url, entry["error"])
            with self._lock:
                self._callbacks.append(entry)

    def callbacks(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(entry) for entry in self._callbacks]

    def clear_callbacks(self) -> None:
        with self._lock:
            self._callbacks.clear()

    def pending_callbacks(self) -> int:
        with self._lock:
            return len(self._tasks)

    async def aclose(self) -> None:
        """Cancel callback deliveries still waiting and close the outbound client if the engine created it."""
        with self._lock:
            tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._owns_outbound and self._outbound is not None:
            client, self._outbound = self._outbound, None
            await client.aclose()
