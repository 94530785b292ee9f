from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query

from voicegate.admin.dependencies import require_admin
from voicegate.deps import ResourcesDep, SessionDep, SettingsDep
from voicegate.errors import described
from voicegate.kit.requestctx import current_request_id
from voicegate.runtime_settings import service
from voicegate.runtime_settings.registry import REGISTRY
from voicegate.runtime_settings.schemas import (
    SettingChangePage,
    SettingChangeRead,
    SettingRead,
    SettingsRead,
    SettingsUpdate,
)
from voicegate.runtime_settings.service import SettingView

API_ACTOR = "admin-api"

router = APIRouter(
    prefix="/admin/settings",
    tags=["admin"],
    dependencies=[Depends(require_admin)],
    responses=described({401: "Admin API key required", 403: "The admin API is disabled"}),
)

ActorHeader = Annotated[
    str | None,
    Header(
        alias="X-Admin-Actor",
        pattern=r"^[A-Za-z0-9._@+-]{1,64}$",
        description="Who is making the change, recorded as `admin-api:<actor>` in the audit trail",
    ),
]


def _read(views: list[SettingView]) -> SettingsRead:
    return SettingsRead(
        settings=[
            SettingRead(
                name=view.setting.name,
                value=view.value,
                default=view.default,
                source=view.source,
                type=view.setting.json_type,
                env_var=view.setting.env_var,
                description=view.setting.description,
                updated_at=view.updated_at,
                updated_by=view.updated_by,
            )
            for view in views
        ]
    )


@router.get("")
async def list_settings(session: SessionDep, settings: SettingsDep) -> SettingsRead:
    """Each runtime setting: its value in effect, where it comes from, and who last set it when."""
    return _read(await service.list_settings(session, settings))


@router.put("", responses=described({422: "Unknown setting, invalid value, or none named"}))
async def update_settings(
    body: SettingsUpdate, session: SessionDep, resources: ResourcesDep, actor: ActorHeader = None
) -> SettingsRead:
    """Change runtime settings; every gateway process applies the change within 5 s."""
    views = await service.set_values(
        session,
        resources.settings,
        body.changes(),
        actor=f"{API_ACTOR}:{actor}" if actor else API_ACTOR,
        request_id=current_request_id(),
        runtime=resources.runtime_settings,
    )
    return _read(views)


@router.get("/changes", responses=described({422: "Unknown setting"}))
async def list_changes(
    session: SessionDep,
    name: Annotated[str | None, Query(max_length=64, description=f"One of: {', '.join(REGISTRY)}")] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 50,
) -> SettingChangePage:
    """The audit trail of runtime settings, newest first."""
    changes, total = await service.list_changes(session, name, page=page, page_size=page_size)
    items = [SettingChangeRead.model_validate(change, from_attributes=True) for change in changes]
    return SettingChangePage(items=items, page=page, page_size=page_size, total=total)
