from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class ErasureReport(BaseModel):
    """What one user's erasure removed, and what it kept."""

    user_id: str
    status: str = Field(description="`erased` once every step has run")
    actor: str = Field(description="Who asked for the erasure (the first call's actor)")
    started_at: datetime
    finished_at: datetime
    attempts: int = Field(description="Calls it took: more than 1 when an interrupted erasure was resumed")
    keys_revoked: int
    jobs_stopped: int = Field(description="Open jobs failed with their credit hold given back")
    objects_removed: dict[str, int] = Field(description="Stored objects deleted, per prefix (`_deleted/` included)")
    objects_removed_total: int
    resources_deleted: dict[str, int] = Field(description="Owned Resemble objects deleted (or found gone), per kind")
    resources_not_deletable_upstream: list[str] = Field(
        description="Kinds Resemble offers no delete for: only the gateway's record of them was removed"
    )
    job_records_deleted_upstream: dict[str, int] = Field(description="Job records deleted at Resemble, per capability")
    job_records_kept_upstream: dict[str, int] = Field(
        description="Jobs whose capability Resemble offers no delete for, per capability"
    )
    rows: dict[str, int] = Field(description="Gateway rows marked deleted, stripped of personal data, or deleted")
    kept: dict[str, int] = Field(description="Financial rows kept, tied to the pseudonymous user id")
