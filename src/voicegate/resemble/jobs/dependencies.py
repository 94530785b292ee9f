from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from voicegate.deps import AccountDep, ResourcesDep, SessionDep
from voicegate.resemble.jobs.service import JobDeps, job_deps


async def get_job_deps(resources: ResourcesDep, session: SessionDep, account: AccountDep) -> JobDeps:
    """The caller's account submits; a job is then always followed with the key it was submitted with."""
    return job_deps(resources, session, account)


JobDepsDep = Annotated[JobDeps, Depends(get_job_deps)]
