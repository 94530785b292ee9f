"""Process-wide Prometheus metrics, exposed at `GET /metrics` (README "Operating" lists them all).

With several worker processes (`voicegate serve --workers N`) each worker counts on its own; `serve` then points
PROMETHEUS_MULTIPROC_DIR at a directory they share, and every worker's `/metrics` answers the sum over all of
them, so one scrape (or a load test in another process) sees the whole gateway. Counters and histograms add up
across workers by themselves; a gauge says how its workers' values combine with `multiprocess_mode`.

The `capability` label is the capability the work serves (`tts`, `stt`, `voices`, ... as in rate limits and the
rate card; "none" for upstream calls made outside any capability). Counts of billed work are taken once the
transaction that records them has committed, so a rolled-back hold or charge is never counted.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess

MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"

upstream_requests = Counter("voicegate_upstream_requests_total", "Calls made to Resemble", ["operation", "outcome"])
upstream_latency = Histogram(
    "voicegate_upstream_latency_seconds", "Latency of calls to Resemble", ["operation", "capability"]
)
breaker_rejections = Counter(
    "voicegate_upstream_breaker_rejections_total", "Requests refused because the circuit was open"
)
storage_failures = Counter(
    "voicegate_storage_failures_total", "Storage operations that failed (put, expire, purge, restore)", ["operation"]
)
ratelimit_degraded = Counter(
    "voicegate_ratelimit_degraded_total",
    "Rate-limit checks let through unchecked: the store failed (store_error), did not answer in time (timeout), "
    "or was skipped right after a failure (skipped)",
    ["reason"],
)
ratelimit_rejections = Counter("voicegate_ratelimit_rejections_total", "Requests refused with 429", ["capability"])
charges = Counter("voicegate_charges_total", "Captured charges", ["capability"])
holds_swept = Counter("voicegate_holds_swept_total", "Stale credit holds released by the sweep")
task_runs = Counter(
    "voicegate_task_runs_total",
    "Background task runs by task name and outcome (ok|failed), in the gateway's loop and in Celery workers alike",
    ["task", "outcome"],
)

# Reconciliation: set by whichever process ran it last; "mostrecent" so a multiprocess scrape shows that run, not a
# sum or a list over workers that never ran it.
reconciliation_drift = Gauge(
    "voicegate_reconciliation_drift_ratio",
    "(Resemble's usage deductions - our provider cost) / our provider cost over the last reconciliation's window",
    multiprocess_mode="mostrecent",
)
reconciliation_ok = Gauge(
    "voicegate_reconciliation_last_run_ok",
    "1 when the last reconciliation found no drift beyond the threshold and every internal check passed, else 0",
    multiprocess_mode="mostrecent",
)


# Operator metrics: requests, holds, jobs, webhook deliveries and the breaker.
http_requests = Counter(
    "voicegate_http_requests_total",
    "Requests answered, by method, matched route template (never the raw path) and status",
    ["method", "route", "status"],
)
holds = Counter(
    "voicegate_holds_total",
    "Credit holds placed, captured by their charge, or released (upstream failed, aborted, or swept)",
    ["capability", "event"],
)
open_holds = Gauge(
    "voicegate_open_holds",
    "Credit holds not yet settled, as last counted by the hold sweep",
    multiprocess_mode="livemostrecent",  # one database-wide figure: the latest count wins
)
job_transitions = Counter(
    "voicegate_job_transitions_total",
    "Async jobs reaching a state (pending, processing, completed, failed)",
    [
        "capability",
        "state",
    ],
)
webhook_deliveries = Counter(
    "voicegate_webhook_deliveries_total",
    "Outbound webhook attempts by outcome: delivered, retrying (will try again) or failed (gave up)",
    ["outcome"],
)
breaker_state = Gauge(
    "voicegate_upstream_breaker_state",
    "The upstream circuit: 0 closed, 1 half-open (probing), 2 open (calls refused)",
    multiprocess_mode="livemax",  # the worst live worker's circuit
)


def exposition() -> bytes:
    """The text exposition of every counter: this process's, or all workers' when they share a directory."""
    if not os.environ.get(MULTIPROC_DIR_ENV):
        return generate_latest()
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return generate_latest(registry)
