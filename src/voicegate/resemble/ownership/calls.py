"""Free upstream calls on owned objects, each recorded as a `provider_resemble_request` row like billed ones."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from voicegate.db.models import ProviderResembleRequest
from voicegate.errors import GatewayError, UpstreamRejected
from voicegate.kit.time import utc_now
from voicegate.upstream.client import Files, ResembleClient

RAW_RESPONSE_CHARS = 20_000  # a list page of agents can be large; the row is evidence, not an archive


@dataclass(frozen=True)
class Scope:
    """What every operation on a user's upstream objects needs."""

    session: AsyncSession
    upstream: ResembleClient
    user_id: str


@dataclass(frozen=True)
class CallName:
    """How a call is named in its request row and in metrics: ("projects", "get_project")."""

    capability: str
    operation: str


@dataclass(frozen=True)
class Outcome:
    name: CallName
    latency_ms: int
    result: dict[str, Any] | None = None
    error: GatewayError | None = None


async def attempt(
    scope: Scope,
    method: str,
    path: str,
    name: CallName,
    *,
    json_body: Any = None,
    params: dict[str, str | int] | None = None,
    data: dict[str, str] | None = None,
    files: Files | None = None,
) -> Outcome:
    """One upstream call that never raises a `GatewayError`: the outcome says what happened. No database work,
    so several can run at once for one session."""
    started = time.perf_counter()
    try:
        result = await scope.upstream.request_json(
            method,
            path,
            json=json_body,
            params=params,
            data=data,
            files=files,
            idempotent=method in ("GET", "PUT", "DELETE"),
            operation=name.operation,
        )
    except GatewayError as error:
        return Outcome(name, _ms(started), error=error)
    return Outcome(name, _ms(started), result=result)


def record(scope: Scope, outcome: Outcome) -> None:
    """Add the request row for `outcome` to the session (committed with whatever the caller writes next)."""
    row = ProviderResembleRequest(
        user_id=scope.user_id,
        capability=outcome.name.capability,
        operation=outcome.name.operation,
        latency_ms=outcome.latency_ms,
        completed_at=utc_now(),
    )
    if outcome.error is None:
        row.status, row.upstream_status = "succeeded", 200
        row.raw_response = json.dumps(outcome.result)[:RAW_RESPONSE_CHARS]
    else:
        row.status = "failed"
        row.upstream_status = outcome.error.extra.get("upstream_status") or outcome.error.status_code
        row.error = str(outcome.error.detail)[:500]
    scope.session.add(row)


async def call(scope: Scope, method: str, path: str, name: CallName, **kwargs: Any) -> dict[str, Any]:
    """`attempt` + `record`; a failure is committed at once (so its row survives the error response), then raised."""
    outcome = await attempt(scope, method, path, name, **kwargs)
    record(scope, outcome)
    if outcome.error is not None:
        await scope.session.commit()
        raise outcome.error
    assert outcome.result is not None
    return outcome.result


def is_gone(error: GatewayError) -> bool:
    """Resemble answered 404: the object no longer exists there."""
    return isinstance(error, UpstreamRejected) and error.status_code == 404


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
