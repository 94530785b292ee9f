"""Projects (free CRUD through the ownership layer) and clips, whose creation is a billed synthesis."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from voicegate.db.models import ProviderResembleResource
from voicegate.errors import UpstreamError
from voicegate.resemble import metering
from voicegate.resemble.ownership import service as ownership
from voicegate.resemble.ownership.calls import Scope
from voicegate.resemble.ownership.kinds import SPECS, Kind
from voicegate.resemble.ownership.repository import OwnedResource
from voicegate.resemble.projects.schemas import ClipFields, ProjectCreate, ProjectUpdate
from voicegate.resemble.tts.service import TtsDeps, billed_synthesis, estimate_text
from voicegate.resemble.voices import access


async def create_project(scope: Scope, body: ProjectCreate) -> dict[str, Any]:
    return await ownership.create(scope, Kind.PROJECT, body.model_dump())


async def update_project(scope: Scope, project: OwnedResource, body: ProjectUpdate) -> dict[str, Any]:
    return await ownership.update(scope, project, body.model_dump(exclude_none=True))


async def create_clip(deps: TtsDeps, scope: Scope, project: OwnedResource, fields: ClipFields) -> dict[str, Any]:
    """Synthesize a clip in `project` with a voice the caller may use, billed and mirrored like `/tts/synthesize`.

    The clip's ownership row is written in the charge's transaction. When the clip exists upstream but that
    transaction does not happen (a malformed answer, the database failing), the clip is deleted upstream again and
    the hold released, so neither an unowned clip nor a held credit is left behind.
    """
    await access.ensure_speakable(scope.session, deps.voices, deps.rate_card, scope.user_id, fields.voice_uuid)
    payload = {**fields.model_dump(exclude_none=True), "raw": True}  # raw: the audio comes back in the answer
    path = SPECS[Kind.CLIP].collection_path(project.upstream_id)
    created: dict[str, str] = {}

    async def call() -> dict[str, Any]:
        body = await deps.upstream.request_json("POST", path, json=payload, idempotent=False, operation="create_clip")
        item = ownership.item_of(body)
        clip_uuid = ownership.upstream_id_of(item)
        if clip_uuid is None:
            raise UpstreamError(extra={"reason": "created clip without an id"})
        created["clip"] = clip_uuid
        return _as_synthesis(item, fields)

    def rows(request_id: str, _: dict[str, Any]) -> list[object]:
        created["request"] = request_id
        return [
            ProviderResembleResource(
                kind=Kind.CLIP.value, upstream_id=created["clip"], user_id=scope.user_id, parent_id=project.id
            )
        ]

    try:
        result = await billed_synthesis(
            deps,
            scope.user_id,
            operation="create_clip",
            estimate=estimate_text(deps.rate_card, fields.body),
            output_format=fields.output_format,
            call=call,
            rows=rows,
        )
    except BaseException as exc:
        if "clip" in created:
            await _undo_clip(scope, project, created, exc)
        if isinstance(exc, SQLAlchemyError):
            raise ownership.OwnershipUnavailable() from exc
        raise
    item = {key: value for key, value in result["raw_response"]["item"].items() if key != "raw_audio"}
    return {
        "success": True,
        "request_id": result["request_id"],
        "item": item,
        "audio_duration": result["audio_duration"],
        "output_format": result["output_format"],
        "audio_url": result["audio_url"],
        "expires_at": result["expires_at"],
        "resemble_url": result["resemble_url"],
        "billing": result["billing"],
    }


def _as_synthesis(item: dict[str, Any], fields: ClipFields) -> dict[str, Any]:
    """The clip answer in the synthesis shape `billed_synthesis` reads (its checks reject missing audio)."""
    return {
        "audio_content": item.get("raw_audio"),
        "duration": item.get("duration"),
        "output_format": item.get("output_format") or fields.output_format,
        "sample_rate": item.get("sample_rate"),
        "url": item.get("audio_src"),
        "item": {key: value for key, value in item.items() if key != "raw_audio"},
    }


async def _undo_clip(scope: Scope, project: OwnedResource, created: dict[str, str], cause: BaseException) -> None:
    undone = await ownership.undo_create(scope, Kind.CLIP, created["clip"], parent=project, cause=cause)
    if undone and "request" in created:
        await metering.abandon(scope.session, created["request"], reason="clip undone: its owner could not be recorded")
