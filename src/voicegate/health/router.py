from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from voicegate.deps import ResourcesDep
from voicegate.health import service
from voicegate.health.schemas import ReadinessRead

router = APIRouter(tags=["meta"])

RESPONSES: dict[int | str, dict[str, Any]] = {503: {"model": ReadinessRead, "description": "A required check failed"}}


@router.get("/readyz", response_model=ReadinessRead, responses=RESPONSES)
async def readyz(resources: ResourcesDep, response: Response) -> ReadinessRead:
    """Readiness of this instance: the database, Redis and storage, each checked within a short timeout."""
    report = await service.readiness(resources.engine, resources.limiter, resources.storage)
    if report.status == "unavailable":
        response.status_code = 503
    return report
