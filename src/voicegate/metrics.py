"""Process-wide Prometheus counters, exposed at `GET /metrics`.

With several worker processes (`voicegate serve --workers N`) each worker counts on its own; `serve` then points
PROMETHEUS_MULTIPROC_DIR at a directory they share, and every worker's `/metrics` answers the sum over all of
them, so one scrape (or a load test in another process) sees the whole gateway.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess

MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"

upstream_requests = Counter("voicegate_upstream_requests_total", "Calls made to Resemble", ["operation", "outcome"])
upstream_latency = Histogram("voicegate_upstream_latency_seconds", "Latency of calls to Resemble", ["operation"])
breaker_rejections = Counter(
    "voicegate_upstream_breaker_rejections_total", "Requests refused because the circuit was open"
)
storage_failures = Counter(
    "voicegate_storage_failures_total", "Media that could not be mirrored to storage", ["operation"]
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


def exposition() -> bytes:
    """The text exposition of every counter: this process's, or all workers' when they share a directory."""
    if not os.environ.get(MULTIPROC_DIR_ENV):
        return generate_latest()
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return generate_latest(registry)
