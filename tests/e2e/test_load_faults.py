"""A burst of billed syntheses and async jobs against real servers, with upstream faults and client retries mixed in,
then the books are audited: every answer was one a client can act on, and no money was created or lost.

One seeded run (module fixture) feeds every test below; `pytest -s` prints what it saw.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tests.e2e.conftest import ADMIN_KEY
from tests.e2e.load import HOLD_TTL_S, Books, LoadStack, audit, load_stack, metric
from tests.resemble.jobs.helpers import make_wav
from tests.services import sibling_database
from voicegate.billing.tasks import sweep_holds
from voicegate.db.session import create_engine, create_sessionmaker

pytestmark = pytest.mark.e2e

SEED = 6
SYNTHESES = 300
CONCURRENCY = 24
CONCURRENT_RETRIES = 30  # fired RETRY_AFTER_S after the first attempt, while it is still running
RETRY_AFTER_S = 0.02
LATER_RETRIES = 30  # fired once the first attempt has answered
JOBS_PER_USER = 6
RICH_USERS = 5  # plus one user whose credit runs out mid-burst (402s)
VOICE_UUID = "55592656"
SYNTH_URL = "/api/v1/resemble/tts/synthesize"
# Two capabilities that Resemble calls back for: transcription (the gateway uploads the bytes) and deepfake
# detection (Resemble fetches the audio from the gateway's signed URL).
JOB_KINDS = ("stt", "detect")
SYNTH_PATH = "^/synthesize$"
JOB_SUBMIT_PATH = "^/api/v2/(speech-to-text|detect)$"
JOB_READ_PATH = "^/api/v2/(speech-to-text|detect)/[^/]+$"
# One injection per upstream synthesis, in arrival order: ~10 % of each failure mode, the rest merely slow.
SYNTH_FAULTS: dict[str, tuple[int, dict[str, Any]]] = {
    "status": (30, {"mode": "status", "status": 500}),
    "timeout": (30, {"mode": "timeout", "delay_ms": 6_000}),  # three times the gateway's read timeout
    "reset": (30, {"mode": "reset"}),
    "malformed": (30, {"mode": "malformed"}),
    "slow": (SYNTHESES - 120, {"mode": "timeout", "delay_ms": 20}),  # well inside the timeout: answers normally
}
FAILURE_MODES = ("status", "timeout", "reset", "malformed")
JOB_FAULTS: dict[str, tuple[int, dict[str, Any]]] = {
    "callback_repeat": (24, {"mode": "callback_repeat", "repeat": 3}),
    "job_fail": (6, {"mode": "job_fail", "message": "simulated processing failure"}),
}
# Reads of a job's state fail now and then too (the gateway may retry them: they are idempotent).
JOB_READ_FAULTS: dict[str, tuple[int, dict[str, Any]]] = {
    "read 500": (10, {"mode": "status", "status": 500}),
    "read reset": (5, {"mode": "reset"}),
}
ALLOWED = {200, 201, 402, 409, 422, 429, 502, 503}
TERMINAL = ("completed", "failed")


@dataclass(frozen=True)
class Answer:
    what: str
    status: int
    body: Any
    replayed: bool = False
    key: str | None = None
    retry_after: str | None = None

    @property
    def request_id(self) -> str | None:
        return self.body.get("request_id") if self.status == 200 and isinstance(self.body, dict) else None


@dataclass
class Report:
    answers: list[Answer] = field(default_factory=list)
    changed_body: Answer | None = None
    faults_planned: Counter[str] = field(default_factory=Counter)
    faults_met: Counter[str] = field(default_factory=Counter)
    jobs: dict[str, str] = field(default_factory=dict)  # job id -> terminal status
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    balances_seen: list[Decimal] = field(default_factory=list)
    degraded: float = 0.0
    log: str = ""
    books: Books | None = None
    phases: dict[str, float] = field(default_factory=dict)  # seconds each phase took
    swept_in_flight: int = 0

    def statuses(self, *whats: str) -> Counter[int]:
        return Counter(a.status for a in self.answers if not whats or a.what in whats)

    def successes(self) -> set[str]:
        return {a.request_id for a in self.answers if a.what == "tts" and a.request_id}

    def summary(self) -> str:
        books = self.books
        lines = [
            f"load run: { {name: round(seconds, 1) for name, seconds in self.phases.items()} } s",
            f"  tts statuses: {dict(sorted(self.statuses('tts').items()))}",
            f"  job submit statuses: {dict(sorted(self.statuses('job').items()))}",
            f"  job poll statuses: {dict(sorted(self.statuses('poll').items()))}",
            f"  usage samples: {len(self.balances_seen)}, lowest balance {min(self.balances_seen, default=None)}",
            f"  faults met/planned: { {m: f'{self.faults_met[m]}/{n}' for m, n in self.faults_planned.items()} }",
            f"  replays: {sum(a.replayed for a in self.answers)}, changed-body retry: "
            f"{self.changed_body.status if self.changed_body else None}",
            f"  distinct successful syntheses: {len(self.successes())}",
            f"  jobs: {dict(Counter(self.jobs.values()))}, callbacks delivered: {len(self.callbacks)}",
            f"  limiter degraded: {self.degraded:g}",
        ]
        if books is not None:
            lines.append(
                f"  usage rows: {len(books.tts_usage_request_ids)} tts + {len(books.job_usage_job_ids)} jobs, "
                f"holds swept during the run: {self.swept_in_flight}, after: {books.swept}, open: {books.open_holds}"
            )
            lines.append(f"  charged after the hold was swept: {books.direct_charges}, shortfalls: {books.shortfalls}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Synthesis:
    user: dict[str, Any]
    key: str
    body: dict[str, Any]
    retry: str | None  # None, "concurrent" or "later"


def _headers(user: dict[str, Any], key: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {user['api_key']}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return headers


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


@pytest.fixture(scope="module")
def load(
    tmp_path_factory: pytest.TempPathFactory,
    database_url: str,
    redis_url: str | None,
    storage_settings: dict[str, object],
) -> Iterator[LoadStack]:
    with load_stack(
        tmp_path_factory.mktemp("load-logs"),
        tmp_path_factory.mktemp("load-var"),
        sibling_database(database_url, "load"),
        redis_url,
        storage_settings,
    ) as running:
        yield running


class Burst:
    """Drives the run; every answer the gateway gives is recorded in `report`."""

    def __init__(self, stack: LoadStack, http: httpx.AsyncClient, report: Report) -> None:
        self.stack = stack
        self.http = http
        self.report = report
        self.rng = random.Random(SEED)
        self.fault_modes: dict[str, str] = {}

    async def arm(self, path: str, plan: dict[str, tuple[int, dict[str, Any]]]) -> None:
        modes = [mode for mode, (count, _) in plan.items() for _ in range(count)]
        self.rng.shuffle(modes)
        for mode in modes:
            response = await self.http.post(f"{self.stack.simulator}/_sim/faults", json={"path": path, **plan[mode][1]})
            assert response.status_code == 201, response.text
            self.fault_modes[response.json()["id"]] = mode
            self.report.faults_planned[mode] += 1

    async def count_faults_met(self) -> None:
        left = {fault["id"] for fault in (await self.http.get(f"{self.stack.simulator}/_sim/faults")).json()}
        self.report.faults_met.update(mode for id_, mode in self.fault_modes.items() if id_ not in left)

    async def new_user(self, credits: str) -> dict[str, Any]:
        response = await self.http.post(
            f"{self.stack.gateway}/api/v1/admin/users",
            json={"email": f"load-{self.rng.randrange(10**9)}@example.com", "credits_usd": credits},
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def ask(self, what: str, method: str, path: str, *, key: str | None = None, **kwargs: Any) -> Answer:
        """One call to the gateway, recorded; a dropped connection is recorded as status 0, never raised."""
        try:
            response = await self.http.request(method, f"{self.stack.gateway}{path}", **kwargs)
        except httpx.TransportError as exc:
            answer = Answer(what, 0, {"transport_error": repr(exc)}, key=key)
        else:
            replayed = response.headers.get("idempotent-replayed") == "true"
            answer = Answer(
                what, response.status_code, _json(response), replayed, key, response.headers.get("retry-after")
            )
        self.report.answers.append(answer)
        return answer

    async def synthesize(self, job: Synthesis, what: str = "tts", body: dict[str, Any] | None = None) -> Answer:
        headers = _headers(job.user, job.key)
        return await self.ask(what, "POST", SYNTH_URL, key=job.key, json=body or job.body, headers=headers)

    async def synthesis_with_retry(self, job: Synthesis, slots: asyncio.Semaphore) -> None:
        async with slots:
            if job.retry == "concurrent":

                async def retry() -> Answer:
                    await asyncio.sleep(RETRY_AFTER_S)
                    return await self.synthesize(job)

                await asyncio.gather(self.synthesize(job), retry())
                return
            await self.synthesize(job)
            if job.retry == "later":
                await self.synthesize(job)

    def plan_syntheses(self, users: list[dict[str, Any]]) -> list[Synthesis]:
        retries = ["concurrent"] * CONCURRENT_RETRIES + ["later"] * LATER_RETRIES
        retries += [None] * (SYNTHESES - len(retries))
        self.rng.shuffle(retries)
        return [
            Synthesis(
                user=users[i % len(users)],
                key=f"load-{i}",
                body={"voice_uuid": VOICE_UUID, "text": f"Load line {i}: the quick brown fox jumps."},
                retry=retry,
            )
            for i, retry in enumerate(retries)
        ]

    async def syntheses(self, users: list[dict[str, Any]]) -> None:
        slots = asyncio.Semaphore(CONCURRENCY)
        await asyncio.gather(*(self.synthesis_with_retry(job, slots) for job in self.plan_syntheses(users)))

    async def changed_body_retry(self, user: dict[str, Any]) -> None:
        """A retry whose body differs from a first attempt that succeeded under its key. It runs before the burst,
        while the user is far from the cap, and tries new keys until one succeeds (the planted faults come first)."""
        for attempt in range(10):
            job = Synthesis(user, f"changed-{attempt}", {"voice_uuid": VOICE_UUID, "text": "Said once."}, None)
            if (await self.synthesize(job)).status == 200:
                break
        self.report.changed_body = await self.synthesize(job, "changed", {**job.body, "text": "Said twice."})

    async def upload(self, user: dict[str, Any]) -> str:
        response = await self.http.post(
            f"{self.stack.gateway}/api/v1/resemble/uploads",
            headers=_headers(user),
            data={"purpose": "audio_job_input"},
            files={"file": ("clip.wav", make_wav(1.0), "audio/wav")},
        )
        assert response.status_code in (200, 201), response.text
        return str(response.json()["url"])

    async def job(self, user: dict[str, Any], kind: str, url: str, slots: asyncio.Semaphore) -> None:
        async with slots:
            path = f"/api/v1/resemble/{kind}"
            submitted = await self.ask("job", "POST", path, json={"audio_url": url}, headers=_headers(user))
        if submitted.status != 201:
            return
        job_id = submitted.body["job_id"]
        ends = await asyncio.gather(*(self.poll(user, f"{path}/{job_id}") for _ in range(3)))
        self.report.jobs[job_id] = ends[0]

    async def poll(self, user: dict[str, Any], path: str, timeout_s: float = 45) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            answer = await self.ask("poll", "GET", path, headers=_headers(user))
            if answer.status == 200 and answer.body["status"] in TERMINAL:
                return str(answer.body["status"])
            await asyncio.sleep(0.2)
        return "open"

    async def jobs(self, users: list[dict[str, Any]], urls: list[str]) -> None:
        slots = asyncio.Semaphore(8)
        await asyncio.gather(
            *(
                self.job(user, JOB_KINDS[i % len(JOB_KINDS)], url, slots)
                for user, url in zip(users, urls, strict=True)
                for i in range(JOBS_PER_USER)
            )
        )

    async def sample_balances(self, users: list[dict[str, Any]], stop: asyncio.Event) -> None:
        while not stop.is_set():
            for user in users:
                answer = await self.ask("usage", "GET", "/api/v1/user/usage", headers=_headers(user))
                if answer.status == 200:
                    self.report.balances_seen.append(Decimal(answer.body["credits_usd"]))
            await asyncio.sleep(0.05)

    async def sweep_holds(self, sessions: async_sessionmaker[AsyncSession], stop: asyncio.Event) -> None:
        """The scheduler's hold sweep, far more often than in production, racing the requests it may release."""
        while not stop.is_set():
            self.report.swept_in_flight += await sweep_holds(sessions)
            await asyncio.sleep(0.5)

    async def callbacks_settled(self, expected: int, timeout_s: float = 10) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            self.report.callbacks = (await self.http.get(f"{self.stack.simulator}/_sim/callbacks")).json()
            if len(self.report.callbacks) >= expected or time.monotonic() > deadline:
                return
            await asyncio.sleep(0.2)


@pytest.fixture(scope="module")
async def report(load: LoadStack) -> AsyncIterator[Report]:
    engine = create_engine(load.database_url)
    try:
        yield await _run(load, engine)
    finally:
        await engine.dispose()


async def _run(load: LoadStack, engine: AsyncEngine) -> Report:
    seen = Report()
    started = time.monotonic()
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        burst = Burst(load, http, seen)
        rich = [await burst.new_user("5.00") for _ in range(RICH_USERS)]
        users = [*rich, await burst.new_user("0.02")]
        urls = [await burst.upload(user) for user in rich]
        await burst.arm(SYNTH_PATH, SYNTH_FAULTS)
        await burst.arm(JOB_SUBMIT_PATH, JOB_FAULTS)
        await burst.arm(JOB_READ_PATH, JOB_READ_FAULTS)
        await burst.changed_body_retry(rich[0])
        seen.phases["setup"] = time.monotonic() - started

        stop = asyncio.Event()
        sampler = asyncio.create_task(burst.sample_balances(users, stop))
        sweeper = asyncio.create_task(burst.sweep_holds(create_sessionmaker(engine), stop))
        await asyncio.gather(burst.syntheses(users), burst.jobs(rich, urls))
        seen.phases["burst"] = time.monotonic() - started - seen.phases["setup"]
        stop.set()
        await asyncio.gather(sampler, sweeper)
        await burst.count_faults_met()
        repeated, failed = seen.faults_met["callback_repeat"], seen.faults_met["job_fail"]
        await burst.callbacks_settled(3 * repeated + failed)
        seen.degraded = metric((await http.get(f"{load.gateway}/metrics")).text, "voicegate_ratelimit_degraded_total")

    await asyncio.sleep(HOLD_TTL_S + 0.5)  # every hold of the burst has expired: the sweep would take any left open
    seen.books = await audit(engine, [user["id"] for user in users])
    seen.log = load.log.read_text(errors="replace")
    seen.phases["total"] = time.monotonic() - started
    print("\n" + seen.summary())
    return seen


def _excerpt(log: str, needle: str) -> str:
    at = log.find(needle)
    return log[max(0, at - 1500) : at + 1500]


def test_no_500_and_no_unhandled_exception(report: Report) -> None:
    assert 500 not in report.statuses(), report.summary()
    for needle in ("Traceback", "unhandled_error"):
        assert needle not in report.log, f"{report.summary()}\n{_excerpt(report.log, needle)}"


def test_every_answer_is_expected_and_errors_carry_a_detail(report: Report) -> None:
    unexpected = [a for a in report.answers if a.status not in ALLOWED]
    assert not unexpected, f"{report.summary()}\n{unexpected[:5]}"
    invalid = [a for a in report.answers if a.status == 422 and a.what != "changed"]
    assert not invalid, f"only the changed-body retry may be refused as invalid: {invalid[:5]}\n{report.summary()}"
    errors = [a for a in report.answers if a.status >= 400]
    without_detail = [a for a in errors if not isinstance((a.body or {}).get("detail"), str)]
    assert not without_detail, f"{report.summary()}\n{without_detail[:5]}"
    assert report.statuses("usage") == Counter({200: report.statuses("usage").total()}), report.summary()
    waits = [a for a in errors if a.status in (429, 503)]
    assert all(a.retry_after and int(a.retry_after) >= 1 for a in waits), f"{waits[:5]}\n{report.summary()}"
    assert report.statuses("tts")[429] > 0, f"no user reached the synthesis cap\n{report.summary()}"


def test_changed_body_under_a_used_key_is_refused(report: Report) -> None:
    changed = report.changed_body
    assert changed is not None
    assert changed.status in (409, 422), f"{changed}\n{report.summary()}"
    assert "Idempotency-Key" in changed.body["detail"]


def test_a_key_is_charged_at_most_once_and_replays_repeat_the_original(report: Report) -> None:
    by_key: dict[str, list[Answer]] = {}
    for answer in report.answers:
        if answer.what == "tts" and answer.key:
            by_key.setdefault(answer.key, []).append(answer)
    for key, answers in by_key.items():
        originals = [a for a in answers if a.status == 200 and not a.replayed]
        assert len(originals) <= 1, f"{key} charged {len(originals)} times: {[a.request_id for a in originals]}"
        for replay in (a for a in answers if a.replayed):
            assert originals, f"{key}: replay without an original"
            assert replay.status == 200
            assert replay.body == originals[0].body, key
    replays = sum(a.replayed for a in report.answers)
    assert replays > 0, report.summary()
    assert report.statuses("tts")[409] > 0, f"no retry met its first attempt still running\n{report.summary()}"


def test_each_upstream_failure_met_is_one_502(report: Report) -> None:
    met = sum(report.faults_met[mode] for mode in FAILURE_MODES)
    for mode in FAILURE_MODES:
        assert report.faults_met[mode] >= 10, f"too few {mode} faults met\n{report.summary()}"
    assert report.statuses("tts")[502] == met, report.summary()
    assert report.statuses("tts")[402] > 0, f"the small account never ran out\n{report.summary()}"


def test_usage_rows_are_the_successes_and_completed_jobs(report: Report) -> None:
    books = report.books
    assert books is not None
    completed = {job_id for job_id, status in report.jobs.items() if status == "completed"}
    assert sorted(books.tts_usage_request_ids) == sorted(report.successes()), report.summary()
    assert sorted(books.job_usage_job_ids) == sorted(completed), report.summary()


def test_ledger_balances_and_holds_add_up(report: Report) -> None:
    books = report.books
    assert books is not None
    assert books.ledger_sum == books.balance, report.summary()
    assert min(books.balance.values()) >= 0, report.summary()
    assert report.balances_seen, report.summary()
    assert min(report.balances_seen) >= 0, report.summary()
    assert books.open_holds == 0, report.summary()
    assert books.swept == 0, f"a finished request left its hold open\n{report.summary()}"


def test_jobs_end_as_planned_and_repeated_callbacks_are_harmless(report: Report) -> None:
    ends = Counter(report.jobs.values())
    assert ends == {"completed": report.faults_met["callback_repeat"], "failed": report.faults_met["job_fail"]}, (
        report.summary()
    )
    assert ends.total() == RICH_USERS * JOBS_PER_USER, report.summary()
    per_job = Counter(callback["job_uuid"] for callback in report.callbacks)
    assert Counter(per_job.values()) == {3: ends["completed"], 1: ends["failed"]}, report.summary()
    refused = [c for c in report.callbacks if c["error"] or not 200 <= (c["status_code"] or 0) < 300]
    assert not refused, f"{refused[:3]}\n{report.summary()}"


def test_rate_limiter_never_degraded(report: Report) -> None:
    assert report.degraded == 0, report.summary()
