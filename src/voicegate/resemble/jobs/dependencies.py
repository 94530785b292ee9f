from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from voicegate.deps import ResourcesDep, SessionDep
from voicegate.resemble.jobs.service import JobDeps, job_deps


async def get_job_deps(resources: ResourcesDep, session: SessionDep) -> JobDeps:
    return job_deps(resources, session)


JobDepsDep = Annotated[JobDeps, Depends(get_job_deps)]
