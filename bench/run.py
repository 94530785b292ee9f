"""Gateway overhead benchmark: the bundled Resemble simulator called directly vs through voicegate.

`uv run python -m bench.run` (or `make bench`). Starts the simulator and the gateway (one uvicorn worker) as
subprocesses on free ports, drives both from this process with one pooled `httpx.AsyncClient`, prints a table
with PASS/MISS per target and writes `bench/results/latest.json`. Missing a target is reported, not an error;
the exit code is non-zero only when the benchmark could not run.

Stack: PostgreSQL (127.0.0.1:5432, database `voicegate_bench`, recreated each run) + Redis (db 14) when they
answer, else SQLite in a temp dir + the in-process limiter. Environment overrides:

    BENCH_DATABASE_URL       SQLAlchemy URL for the gateway (used as given, never dropped); "sqlite" forces SQLite
    BENCH_REDIS_URL          Redis URL for the limiter; "memory" forces the in-process limiter
    BENCH_CONCURRENCY        concurrent workers for the throughput scenarios (default 16)
    BENCH_DURATION_S         measured seconds per throughput run (default 8)
    BENCH_LOW_LOAD_REQUESTS  sequential requests per low-load run (default 200)
    BENCH_ROUNDS             direct/gateway rounds per scenario (default 2)

Runs are interleaved (direct, gateway, direct, gateway, ...) and each side reports its BEST round: the highest
throughput for the loaded scenarios, the lowest median for the low-load one. Every round is kept in the JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

SIM_KEY = "bench-simulator-key"
ADMIN_KEY = "bench-admin-key"
JWT_SECRET = "bench-jwt-secret-" + "x" * 32
DEFAULT_PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
BENCH_DB = "voicegate_bench"
DEFAULT_PG_URL = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{BENCH_DB}"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
VOICE_UUID = "55592656"
TEXT = "The quick brown fox jumps over the lazy dog, twice a day ok."  # 60 characters
WARMUP_S = 1.5
LOW_LOAD_WARMUP_REQUESTS = 20
RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"

TARGET_LISTING_RATIO = 0.60
TARGET_ADDED_MS = 3.0
TARGET_SYNTH_RATIO = 0.35


class BenchError(Exception):
    """The benchmark could not run (a server did not start, the set-up call failed, ...)."""


# ----------------------------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class Config:
    concurrency: int
    duration_s: float
    low_load_requests: int
    rounds: int

    @classmethod
    def from_env(cls) -> Config:
        def number(name: str, default: float, cast: Callable[[str], float]) -> Any:
            raw = os.environ.get(name, "").strip()
            if not raw:
                return default
            try:
                value = cast(raw)
            except ValueError as exc:
                raise BenchError(f"{name} must be a number, got {raw!r}") from exc
            if value <= 0:
                raise BenchError(f"{name} must be positive, got {raw!r}")
            return value

        return cls(
            concurrency=number("BENCH_CONCURRENCY", 16, int),
            duration_s=number("BENCH_DURATION_S", 8.0, float),
            low_load_requests=number("BENCH_LOW_LOAD_REQUESTS", 200, int),
            rounds=number("BENCH_ROUNDS", 2, int),
        )


@dataclass(frozen=True)
class Stack:
    database_url: str | None  # None: the gateway's embedded SQLite under VAR_DIR
    redis_url: str | None  # None: the in-process limiter
    notes: list[str] = field(default_factory=list)

    @property
    def database_label(self) -> str:
        if self.database_url is None:
            return "SQLite (temp VAR_DIR)"
        if self.database_url.startswith("sqlite"):
            return f"SQLite ({self.database_url.split('///', 1)[-1]})"
        parts = urlsplit(self.database_url)
        kind = "PostgreSQL" if parts.scheme.startswith("postgres") else parts.scheme
        return f"{kind} ({parts.hostname}:{parts.port or 5432}{parts.path})"

    @property
    def limiter_label(self) -> str:
        if self.redis_url is None:
            return "in-process limiter"
        parts = urlsplit(self.redis_url)
        return f"Redis ({parts.hostname}:{parts.port or 6379}{parts.path})"

    @property
    def label(self) -> str:
        return f"{self.database_label} + {self.limiter_label} + local storage (temp dir)"


def _asyncpg_dsn(url: str) -> str:
    """A SQLAlchemy `postgresql+asyncpg://` URL as a plain libpq-style DSN that asyncpg accepts."""
    scheme, sep, rest = url.partition("://")
    return f"postgresql://{rest}" if sep and scheme.startswith("postgres") else url


async def _probe_postgres(override: str | None) -> tuple[str | None, str]:
    import asyncpg

    if override:
        if override.lower() in ("sqlite", "none", "embedded"):
            return None, "BENCH_DATABASE_URL asks for SQLite"
        if not override.startswith("postgres"):
            return override, "BENCH_DATABASE_URL used as given"
        try:
            connection = await asyncpg.connect(_asyncpg_dsn(override), timeout=3)
            await connection.close()
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            return None, f"BENCH_DATABASE_URL unreachable ({type(exc).__name__}); falling back to SQLite"
        return override, "BENCH_DATABASE_URL used as given (not recreated)"
    try:
        connection = await asyncpg.connect(DEFAULT_PG_ADMIN, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return None, f"PostgreSQL at 127.0.0.1:5432 unreachable ({type(exc).__name__}); falling back to SQLite"
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{BENCH_DB}"')
    except asyncpg.PostgresError as exc:
        return None, f"could not recreate {BENCH_DB} ({exc}); falling back to SQLite"
    finally:
        await connection.close()
    return DEFAULT_PG_URL, f"database {BENCH_DB} dropped and recreated"


async def _probe_redis(override: str | None) -> tuple[str | None, str]:
    from redis.asyncio import Redis
    from redis.exceptions import RedisError

    if override and override.lower() in ("memory", "none", "in-process"):
        return None, "BENCH_REDIS_URL asks for the in-process limiter"
    url = override or DEFAULT_REDIS_URL
    client = Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    try:
        await client.ping()
    except (OSError, RedisError) as exc:
        where = "BENCH_REDIS_URL" if override else "Redis at 127.0.0.1:6379"
        return None, f"{where} unreachable ({type(exc).__name__}); falling back to the in-process limiter"
    finally:
        await client.aclose()
    return url, "Redis reachable"


async def choose_stack() -> Stack:
    database_url, db_note = await _probe_postgres(os.environ.get("BENCH_DATABASE_URL", "").strip() or None)
    redis_url, redis_note = await _probe_redis(os.environ.get("BENCH_REDIS_URL", "").strip() or None)
    return Stack(database_url=database_url, redis_url=redis_url, notes=[db_note, redis_note])


# ----------------------------------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# Start-up warnings every bench run produces; left out of the "why did requests fail" excerpt.
EXPECTED_LOG_LINES = ("webhook_signatures_off", "upstream_is_simulator")


def log_problems(path: Path, limit: int = 15) -> list[str]:
    """The last `limit` WARNING/ERROR lines of a server log (start-up chatter excluded)."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return []
    wanted = [
        line
        for line in lines
        if (" WARNING " in line or " ERROR " in line) and not any(skip in line for skip in EXPECTED_LOG_LINES)
    ]
    return wanted[-limit:]


def tail(path: Path, chars: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return "(no log)"


# The caller's settings that would change the stack under test; servers get os.environ without them.
SCRUBBED_ENV = ("DATABASE_URL", "REDIS_URL", "VOICEGATE_ENV", "STORAGE_BACKEND", "RESEMBLE_RATE_LIMITS")


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def wait_until_up(self, url: str, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(
                    f"{self.name} exited with {self.process.returncode} before answering; log tail:\n{tail(self.log)}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=1).status_code < 500:
                    return
            time.sleep(0.2)
        raise BenchError(f"{self.name} at {url} did not come up in {timeout_s:.0f} s; log tail:\n{tail(self.log)}")

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextlib.contextmanager
def running(name: str, args: list[str], env: dict[str, str], log: Path, health_url: str, cwd: Path) -> Iterator[Server]:
    """Start `python -m voicegate.cli ARGS` in `cwd` (so no stray `.env` is read) and wait for `health_url`."""
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "voicegate.cli", *args],
            env={**{k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}, **env},
            cwd=cwd,
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    server = Server(name, process, log)
    try:
        server.wait_until_up(health_url)
        yield server
    finally:
        server.stop()


def gateway_env(stack: Stack, sim: str, gateway: str, var_dir: Path) -> dict[str, str]:
    env = {
        "VOICEGATE_ENV": "development",
        "RESEMBLE_API_KEY": SIM_KEY,
        "RESEMBLE_BASE_URL": f"{sim}/api/v2",
        "RESEMBLE_SYNTH_URL": sim,
        "ADMIN_API_KEY": ADMIN_KEY,
        "JWT_SECRET": JWT_SECRET,
        "VAR_DIR": str(var_dir),
        "PUBLIC_BASE_URL": gateway,
        "STORAGE_BACKEND": "local",
        "STORAGE_LOCAL_DIR": str(var_dir / "storage"),
        "RESEMBLE_RATE_LIMITS": json.dumps({"tts": "1000000/minute", "voices": "1000000/minute"}),
        "LOG_LEVEL": "WARNING",
    }
    if stack.database_url:
        env["DATABASE_URL"] = stack.database_url
    if stack.redis_url:
        env["REDIS_URL"] = stack.redis_url
    return env


# -------------------------------------------------------------------------------------------------- load runs

# The load generator shares 2 cores with both servers, so every microsecond it spends per request is taken from
# them. Two cheap, server-neutral savings (the servers are untouched; they get the same client either way):
# - httpcore calls `import sniffio` each time it creates a lock/event (several times per request); without the
#   package every call is a failed import with a sys.path scan (~50 us each). A None entry in sys.modules makes
#   that import fail at once, exactly as it would, minus the scan.
# - uvloop (shipped with uvicorn[standard]) instead of the default asyncio loop, when importable.
LOADGEN: dict[str, str] = {}
if importlib.util.find_spec("sniffio") is None:
    sys.modules["sniffio"] = None  # type: ignore[assignment]
    LOADGEN["sniffio"] = "sniffio absent: httpcore's per-call probe short-circuited"
else:
    LOADGEN["sniffio"] = "sniffio installed"
try:
    import uvloop

    LOADGEN["event_loop"] = "uvloop"
except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
    uvloop = None  # type: ignore[assignment]
    LOADGEN["event_loop"] = "asyncio"

T = TypeVar("T")


def run_loop(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run`, on uvloop when available."""
    if uvloop is not None:
        return uvloop.run(main)
    return asyncio.run(main)


@dataclass(frozen=True)
class Target:
    method: str
    url: str
    headers: dict[str, str]
    json_body: dict[str, Any] | None = None


@dataclass(frozen=True)
class CpuSnapshot:
    loadgen_s: float
    servers_s: dict[str, float | None]


@dataclass(frozen=True)
class CpuProbe:
    """CPU seconds used so far by this process (the load generator) and by each server process (Linux /proc)."""

    servers: dict[str, int]  # name -> pid

    def snapshot(self) -> CpuSnapshot:
        return CpuSnapshot(time.process_time(), {name: process_cpu_s(pid) for name, pid in self.servers.items()})


def cpu_usage(
    before: CpuSnapshot, after: CpuSnapshot, wall_s: float, requests: int
) -> tuple[float, dict[str, float | None]]:
    """(load generator CPU as % of one core, {server: CPU ms per request}) between two snapshots."""
    loadgen_pct = 100 * (after.loadgen_s - before.loadgen_s) / wall_s if wall_s > 0 else 0.0
    servers: dict[str, float | None] = {}
    for name, end in after.servers_s.items():
        start = before.servers_s.get(name)
        known = start is not None and end is not None and requests > 0
        servers[name] = round((end - start) * 1000 / requests, 3) if known else None  # type: ignore[operator]
    return loadgen_pct, servers


def process_cpu_s(pid: int) -> float | None:
    """user + system CPU seconds of all threads of `pid`, or None where /proc is not available."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


@dataclass
class RunResult:
    side: str  # "direct" | "gateway"
    round: int
    concurrency: int
    requests: int
    errors: int
    elapsed_s: float
    rps: float
    median_ms: float
    p99_ms: float
    mean_ms: float
    loadgen_cpu_pct: float = 0.0  # this process, % of one core, during the measured window
    simulator_cpu_ms_per_req: float | None = None
    gateway_cpu_ms_per_req: float | None = None
    error_samples: list[str] = field(default_factory=list)


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(pct / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


async def one_request(client: httpx.AsyncClient, target: Target) -> tuple[float, str | None]:
    """(latency in seconds, error description or None); the whole body is read before the clock stops."""
    started = time.perf_counter()
    try:
        response = await client.request(target.method, target.url, headers=target.headers, json=target.json_body)
        await response.aread()
    except httpx.HTTPError as exc:
        return time.perf_counter() - started, f"{type(exc).__name__}: {exc}"
    latency = time.perf_counter() - started
    if not response.is_success:
        return latency, f"HTTP {response.status_code}: {response.text[:200]}"
    return latency, None


@dataclass(frozen=True)
class RunSpec:
    side: str
    round_no: int
    concurrency: int
    probe: CpuProbe


def summarise(
    spec: RunSpec,
    samples: list[tuple[float, str | None]],
    elapsed_s: float,
    cpu_before: CpuSnapshot,
    cpu_after: CpuSnapshot,
    cpu_wall_s: float,
) -> RunResult:
    latencies = sorted(latency * 1000 for latency, _ in samples)
    errors = [error for _, error in samples if error is not None]
    loadgen_pct, servers = cpu_usage(cpu_before, cpu_after, cpu_wall_s, len(samples))
    return RunResult(
        side=spec.side,
        round=spec.round_no,
        concurrency=spec.concurrency,
        requests=len(samples),
        errors=len(errors),
        elapsed_s=round(elapsed_s, 3),
        rps=len(samples) / elapsed_s if elapsed_s > 0 else 0.0,
        median_ms=statistics.median(latencies) if latencies else float("nan"),
        p99_ms=percentile(latencies, 99),
        mean_ms=statistics.fmean(latencies) if latencies else float("nan"),
        loadgen_cpu_pct=round(loadgen_pct, 1),
        simulator_cpu_ms_per_req=servers.get("simulator"),
        gateway_cpu_ms_per_req=servers.get("gateway") if spec.side == "gateway" else None,
        error_samples=sorted(set(errors))[:3],
    )


async def timed_run(client: httpx.AsyncClient, target: Target, spec: RunSpec, duration_s: float) -> RunResult:
    """`concurrency` closed-loop workers for WARMUP_S + duration_s; only requests started after the warm-up count.

    Throughput = counted requests / (last counted completion - end of warm-up), so requests in flight at the
    deadline are neither lost nor double counted. CPU is sampled over the same window (approximately).
    """
    loop = asyncio.get_running_loop()
    start = loop.time()
    measure_from = start + WARMUP_S
    stop_at = measure_from + duration_s
    samples: list[tuple[float, str | None]] = []
    last_done = measure_from
    snapshots: list[CpuSnapshot] = []
    loop.call_at(measure_from, lambda: snapshots.append(spec.probe.snapshot()))

    async def worker() -> None:
        nonlocal last_done
        while True:
            issued = loop.time()
            if issued >= stop_at:
                return
            result = await one_request(client, target)
            if issued >= measure_from:
                samples.append(result)
                last_done = max(last_done, loop.time())

    await asyncio.gather(*(worker() for _ in range(spec.concurrency)))
    cpu_after = spec.probe.snapshot()
    cpu_before = snapshots[0] if snapshots else cpu_after
    wall = loop.time() - measure_from
    return summarise(spec, samples, last_done - measure_from, cpu_before, cpu_after, wall)


async def sequential_run(client: httpx.AsyncClient, target: Target, spec: RunSpec, requests: int) -> RunResult:
    for _ in range(LOW_LOAD_WARMUP_REQUESTS):
        await one_request(client, target)
    samples: list[tuple[float, str | None]] = []
    cpu_before = spec.probe.snapshot()
    started = time.perf_counter()
    for _ in range(requests):
        samples.append(await one_request(client, target))
    elapsed = time.perf_counter() - started
    return summarise(spec, samples, elapsed, cpu_before, spec.probe.snapshot(), elapsed)


# ---------------------------------------------------------------------------------------------------- scenarios


@dataclass
class Scenario:
    key: str
    title: str
    best_by: str  # "rps" (highest) or "median" (lowest)
    runs: list[RunResult] = field(default_factory=list)

    def best(self, side: str) -> RunResult:
        runs = [run for run in self.runs if run.side == side]
        if self.best_by == "rps":
            return max(runs, key=lambda run: run.rps)
        return min(runs, key=lambda run: run.median_ms)


Runner = Callable[[str, int], Awaitable[RunResult]]


async def interleaved(scenario: Scenario, rounds: int, direct: Runner, gateway: Runner) -> Scenario:
    for round_no in range(1, rounds + 1):
        for side, runner in (("direct", direct), ("gateway", gateway)):
            print(f"  {scenario.title}: {side} round {round_no}/{rounds} ...", end="", flush=True)
            result = await runner(side, round_no)
            scenario.runs.append(result)
            errors = f", {result.errors} errors" if result.errors else ""
            print(
                f" {result.rps:8.1f} req/s  median {result.median_ms:7.2f} ms  p99 {result.p99_ms:7.2f} ms"
                f"  loadgen CPU {result.loadgen_cpu_pct:3.0f}%{errors}",
                flush=True,
            )
            for sample in result.error_samples:
                print(f"      e.g. {sample}")
    return scenario


async def create_user(client: httpx.AsyncClient, gateway: str) -> str:
    email = f"bench-{int(time.time())}-{os.getpid()}@example.com"
    response = await client.post(
        f"{gateway}/api/v1/admin/users",
        json={"email": email, "credits_usd": "100000"},
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
    )
    if response.status_code != 201:
        raise BenchError(f"creating the bench user failed: {response.status_code} {response.text[:500]}")
    return str(response.json()["api_key"])


async def check_once(client: httpx.AsyncClient, target: Target, label: str) -> None:
    _, error = await one_request(client, target)
    if error is not None:
        raise BenchError(f"smoke request for {label} failed: {error}")


async def run_scenarios(config: Config, sim: str, gateway: str, probe: CpuProbe) -> list[Scenario]:
    limits = httpx.Limits(max_connections=config.concurrency, max_keepalive_connections=config.concurrency)
    timeout = httpx.Timeout(60.0, connect=10.0)
    async with httpx.AsyncClient(limits=limits, timeout=timeout, http1=True, http2=False) as client:
        api_key = await create_user(client, gateway)
        sim_auth = {"Authorization": f"Bearer {SIM_KEY}"}
        gw_auth = {"Authorization": f"Bearer {api_key}"}
        list_direct = Target("GET", f"{sim}/api/v2/voices?page=1&page_size=10", sim_auth)
        list_gateway = Target("GET", f"{gateway}/api/v1/resemble/tts/voices?page=1&page_size=10", gw_auth)
        synth_direct = Target(
            "POST", f"{sim}/synthesize", sim_auth, {"voice_uuid": VOICE_UUID, "data": TEXT, "output_format": "wav"}
        )
        synth_gateway = Target(
            "POST",
            f"{gateway}/api/v1/resemble/tts/synthesize",
            gw_auth,
            {"voice_uuid": VOICE_UUID, "text": TEXT, "output_format": "wav"},
        )
        for target, label in (
            (list_direct, "direct listing"),
            (list_gateway, "gateway listing"),
            (synth_direct, "direct synthesis"),
            (synth_gateway, "gateway synthesis"),
        ):
            await check_once(client, target, label)

        def loaded(direct: Target, through: Target) -> tuple[Runner, Runner]:
            def runner(target: Target) -> Runner:
                async def run(side: str, round_no: int) -> RunResult:
                    spec = RunSpec(side, round_no, config.concurrency, probe)
                    return await timed_run(client, target, spec, config.duration_s)

                return run

            return runner(direct), runner(through)

        def sequential(target: Target) -> Runner:
            async def run(side: str, round_no: int) -> RunResult:
                spec = RunSpec(side, round_no, 1, probe)
                return await sequential_run(client, target, spec, config.low_load_requests)

            return run

        scenarios = []
        print(f"\nVoice listing, concurrency {config.concurrency}, {config.duration_s:g} s per run:")
        scenarios.append(
            await interleaved(Scenario("listing", "listing", "rps"), config.rounds, *loaded(list_direct, list_gateway))
        )
        print(f"\nVoice listing at low load, concurrency 1, {config.low_load_requests} sequential requests per run:")
        scenarios.append(
            await interleaved(
                Scenario("listing_low_load", "low-load listing", "median"),
                config.rounds,
                sequential(list_direct),
                sequential(list_gateway),
            )
        )
        print(f"\nSynthesis (billed through the gateway), concurrency {config.concurrency}, {config.duration_s:g} s:")
        scenarios.append(
            await interleaved(
                Scenario("synthesis", "synthesis", "rps"), config.rounds, *loaded(synth_direct, synth_gateway)
            )
        )
        return scenarios


# ------------------------------------------------------------------------------------------------------ report


@dataclass(frozen=True)
class Check:
    name: str
    measured: float
    target: float
    unit: str
    higher_is_better: bool

    @property
    def passed(self) -> bool:
        return self.measured >= self.target if self.higher_is_better else self.measured <= self.target

    def line(self) -> str:
        sign = ">=" if self.higher_is_better else "<="
        value = f"{self.measured:.1%}" if self.unit == "%" else f"{self.measured:.2f} {self.unit}"
        goal = f"{self.target:.0%}" if self.unit == "%" else f"{self.target:g} {self.unit}"
        return f"  [{'PASS' if self.passed else 'MISS'}] {self.name}: {value} (target {sign} {goal})"


def evaluate(scenarios: dict[str, Scenario]) -> list[Check]:
    listing, low, synth = scenarios["listing"], scenarios["listing_low_load"], scenarios["synthesis"]
    return [
        Check(
            "voice listing through gateway vs direct throughput",
            listing.best("gateway").rps / listing.best("direct").rps,
            TARGET_LISTING_RATIO,
            "%",
            True,
        ),
        Check(
            "added median latency at low load",
            low.best("gateway").median_ms - low.best("direct").median_ms,
            TARGET_ADDED_MS,
            "ms",
            False,
        ),
        Check(
            "billed synthesis through gateway vs direct throughput",
            synth.best("gateway").rps / synth.best("direct").rps,
            TARGET_SYNTH_RATIO,
            "%",
            True,
        ),
    ]


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def print_report(stack: Stack, config: Config, scenarios: dict[str, Scenario], checks: list[Check]) -> None:
    header = (
        f"{'scenario':<24}{'side':<9}{'req/s':>8}{'median ms':>11}{'p99 ms':>9}{'requests':>10}{'errors':>8}"
        f"{'loadgen':>9}{'sim CPU':>9}{'gw CPU':>9}"
    )
    print("\n" + "=" * len(header))
    print(f"Stack: {stack.label}")
    print(
        f"Concurrency {config.concurrency}, {config.duration_s:g} s per loaded run after {WARMUP_S:g} s warm-up, "
        f"{config.rounds} interleaved rounds (direct, gateway, ...)."
    )
    print(
        "Each side shows its BEST round: highest req/s for the loaded scenarios, lowest median at low load.\n"
        "loadgen = this process's CPU (% of one core; near 100 % means the client, not the server, was the limit);\n"
        "sim/gw CPU = server CPU ms per request (the machine has 2 cores shared by all three processes)."
    )
    print("=" * len(header))
    print(header)
    print("-" * len(header))
    titles = {
        "listing": f"voice listing (c={config.concurrency})",
        "listing_low_load": "voice listing (c=1)",
        "synthesis": f"synthesis (c={config.concurrency})",
    }
    for key, scenario in scenarios.items():
        for side in ("direct", "gateway"):
            run = scenario.best(side)
            print(
                f"{titles[key] if side == 'direct' else '':<24}{side:<9}{run.rps:>8.1f}{run.median_ms:>11.2f}"
                f"{run.p99_ms:>9.2f}{run.requests:>10}{run.errors:>8}{run.loadgen_cpu_pct:>8.0f}%"
                f"{_ms(run.simulator_cpu_ms_per_req):>9}{_ms(run.gateway_cpu_ms_per_req):>9}"
            )
    print("-" * len(header))
    listing, low, synth = scenarios["listing"], scenarios["listing_low_load"], scenarios["synthesis"]
    print(
        f"listing throughput ratio (gateway/direct):   {listing.best('gateway').rps / listing.best('direct').rps:.1%}"
    )
    print(
        f"low-load added median latency:               "
        f"{low.best('gateway').median_ms - low.best('direct').median_ms:+.2f} ms "
        f"({low.best('direct').median_ms:.2f} -> {low.best('gateway').median_ms:.2f} ms)"
    )
    print(f"synthesis throughput ratio (gateway/direct): {synth.best('gateway').rps / synth.best('direct').rps:.1%}")
    print("\nTargets:")
    for check in checks:
        print(check.line())
    errors = sum(run.errors for scenario in scenarios.values() for run in scenario.runs)
    if errors:
        print(f"\nNote: {errors} request(s) failed (non-2xx or transport error) across all runs; see per-run lines.")


def write_json(stack: Stack, config: Config, scenarios: dict[str, Scenario], checks: list[Check]) -> Path:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "stack": {
            "label": stack.label,
            "database": stack.database_label,
            "limiter": stack.limiter_label,
            "storage": "local",
            "notes": stack.notes,
        },
        "config": {
            **asdict(config),
            "warmup_s": WARMUP_S,
            "low_load_warmup_requests": LOW_LOAD_WARMUP_REQUESTS,
            "text_chars": len(TEXT),
            "aggregation": "best-of-rounds (loaded: highest req/s; low load: lowest median)",
            "loadgen": LOADGEN,
        },
        "scenarios": {
            key: {
                "best_by": scenario.best_by,
                "direct": asdict(scenario.best("direct")),
                "gateway": asdict(scenario.best("gateway")),
                "runs": [asdict(run) for run in scenario.runs],
            }
            for key, scenario in scenarios.items()
        },
        "targets": [
            {
                "name": check.name,
                "measured": check.measured,
                "target": check.target,
                "unit": check.unit,
                "higher_is_better": check.higher_is_better,
                "passed": check.passed,
            }
            for check in checks
        ],
    }
    RESULTS.write_text(json.dumps(document, indent=2) + "\n")
    return RESULTS


# -------------------------------------------------------------------------------------------------------- main


def _raise_on_sigterm(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> int:
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    # Ctrl-C must reach the finally blocks even when started from a shell that ignores SIGINT in the background.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        config = Config.from_env()
        stack = asyncio.run(choose_stack())
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    print(f"Stack: {stack.label}")
    for note in stack.notes:
        print(f"  - {note}")
    print(f"Load generator: {LOADGEN['event_loop']} event loop, {LOADGEN['sniffio']}")

    with tempfile.TemporaryDirectory(prefix="voicegate-bench-") as temp:
        var_dir, logs = Path(temp) / "var", Path(temp) / "logs"
        var_dir.mkdir()
        logs.mkdir()
        sim_port, gw_port = free_port(), free_port()
        sim, gateway = f"http://127.0.0.1:{sim_port}", f"http://127.0.0.1:{gw_port}"
        try:
            with running(
                "simulator",
                ["simulator", "--port", str(sim_port), "--api-key", SIM_KEY],
                {},
                logs / "simulator.log",
                f"{sim}/_sim/requests",
                Path(temp),
            ) as simulator:
                print(f"Simulator up at {sim}; starting the gateway (migrations run first) ...", flush=True)
                with running(
                    "gateway",
                    ["serve", "--port", str(gw_port), "--workers", "1"],
                    gateway_env(stack, sim, gateway, var_dir),
                    logs / "gateway.log",
                    f"{gateway}/healthz",
                    Path(temp),
                ) as gateway_server:
                    print(f"Gateway up at {gateway} (pid {gateway_server.process.pid}, 1 worker)", flush=True)
                    probe = CpuProbe({"simulator": simulator.process.pid, "gateway": gateway_server.process.pid})
                    try:
                        scenario_list = run_loop(run_scenarios(config, sim, gateway, probe))
                        if any(run.errors for scenario in scenario_list for run in scenario.runs):
                            problems = log_problems(gateway_server.log) or ["(no warning or error lines)"]
                            print("\nSome requests failed; the gateway's log says:", *problems, sep="\n  ")
                        for server in (simulator, gateway_server):
                            if server.process.poll() is not None:
                                raise BenchError(
                                    f"{server.name} died during the run (exit {server.process.returncode})"
                                )
                    except BenchError:
                        print(f"\ngateway log tail:\n{tail(gateway_server.log)}", file=sys.stderr)
                        raise
        except BenchError as exc:
            print(f"\nbench: could not run: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("\nbench: interrupted; servers stopped", file=sys.stderr)
            return 130

    scenarios = {scenario.key: scenario for scenario in scenario_list}
    checks = evaluate(scenarios)
    print_report(stack, config, scenarios, checks)
    path = write_json(stack, config, scenarios, checks)
    print(f"\nResults written to {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
