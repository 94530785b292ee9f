from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from voicegate.deps import SessionDep, SettingsDep
from voicegate.resemble.jobs.service import JobDeps


async def get_job_deps(request: Request, session: SessionDep, settings: SettingsDep) -> JobDeps:
    state = request.app.state
    return JobDeps(
        session=session,
        upstream=state.upstream,
        storage=state.storage,
        outbound=state.outbound,
        settings=settings,
        rate_card=state.rate_card,
    )


JobDepsDep = Annotated[JobDeps, Depends(get_job_deps)]
