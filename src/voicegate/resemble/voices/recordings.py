"""Training recordings of a cloned voice: owned children of the voice, with their audio kept permanently.

The audio comes from `fields.url`: one of the caller's stored assets (an upload with `purpose=voice_clone` is
already kept under `voice-recordings/`; any other of their assets is copied there), or an outside URL fetched
behind the SSRF guard and kept under `voice-recordings/`. Resemble takes the recording as multipart (`file`,
`name`, `text`, `emotion`, `is_active`); the gateway sends it the stored bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from voicegate.db.models import ProviderResembleAsset
from voicegate.errors import UnsupportedMedia, UpstreamError
from voicegate.kit import media
from voicegate.kit.ids import new_id
from voicegate.kit.time import isoformat_z
from voicegate.resemble import media as owned_media
from voicegate.resemble.ownership import repository as owned
from voicegate.resemble.ownership import service as ownership
from voicegate.resemble.ownership.calls import CallName, call
from voicegate.resemble.ownership.kinds import SPECS, Kind
from voicegate.resemble.ownership.repository import OwnedResource
from voicegate.resemble.voices import repository
from voicegate.resemble.voices.schemas import RecordingChanges, RecordingFields
from voicegate.resemble.voices.service import VoiceDeps
from voicegate.storage import service as storage_service
from voicegate.storage.retention import AssetClass
from voicegate.upstream.jobs import form_fields


@dataclass(frozen=True)
class _Audio:
    data: bytes
    file_name: str
    content_type: str
    extension: str
    kept: ProviderResembleAsset | None  # already under voice-recordings/: no second copy


async def _audio_of(deps: VoiceDeps, url: str) -> _Audio:
    scope, settings = deps.scope, deps.settings
    asset = await owned_media.resolve_owned_media(scope.session, deps.storage, settings, scope.user_id, url)
    await scope.session.commit()  # end the read before the upstream call
    if asset is not None:
        data = await owned_media.read_asset_bytes(deps.storage, asset, settings.media_fetch_max_bytes)
        name = asset.file_name or "recording"
        kept = asset if asset.asset_class == AssetClass.VOICE_RECORDINGS.value else None
    else:
        name, data = await owned_media.fetch_outside(
            deps.outbound, settings, url, field="fields.url", default_name="recording"
        )
        kept = None
    sniffed = media.sniff(data[:64])
    if sniffed is None or sniffed.kind != "audio":
        raise UnsupportedMedia("A recording must be audio (WAV, MP3, FLAC, OGG, ...)")
    return _Audio(data, name, sniffed.mime, sniffed.extension, kept)


async def create_recording(deps: VoiceDeps, voice: OwnedResource, fields: RecordingFields) -> dict[str, Any]:
    scope = deps.scope
    audio = await _audio_of(deps, fields.url)
    form = form_fields(fields.model_dump(include={"name", "text", "emotion", "is_active", "fill"}))
    answer = await call(
        scope,
        "POST",
        SPECS[Kind.RECORDING].collection_path(voice.upstream_id),
        CallName("voices", "create_recording"),
        data=form,
        files={"file": (audio.file_name, audio.data, audio.content_type)},
    )
    item = ownership.item_of(answer)
    upstream_id = ownership.upstream_id_of(item)
    if upstream_id is None:
        raise UpstreamError(extra={"reason": "created recording without an id"})

    asset = audio.kept
    copied = None
    if asset is None:
        copied = await storage_service.put_asset(
            deps.storage,
            user_id=scope.user_id,
            request_id=new_id(),
            asset_class=AssetClass.VOICE_RECORDINGS,
            data=audio.data,
            ext=audio.extension,
            content_type=audio.content_type,
        )
        asset = copied

    async def link_audio(row: owned.Row) -> None:
        row.asset_id = asset.id if asset else None
        if copied is not None:
            scope.session.add(copied)

    try:
        await ownership.remember(scope, Kind.RECORDING, upstream_id, parent=voice, also=link_audio)
    except ownership.OwnershipUnavailable:
        if copied is not None:  # the recording was deleted upstream again: its copy goes too
            await storage_service.delete_quietly(deps.storage, copied.storage_key)
        raise
    return {"success": True, "item": item, "stored_audio": await _stored_view(deps, asset)}


async def get_recording(deps: VoiceDeps, recording: OwnedResource) -> dict[str, Any]:
    body = await ownership.fetch(deps.scope, recording)
    return {**body, "stored_audio": await _stored_view(deps, await _stored_asset(deps, recording))}


async def update_recording(deps: VoiceDeps, recording: OwnedResource, changes: RecordingChanges) -> dict[str, Any]:
    body = await ownership.update(deps.scope, recording, changes.model_dump(exclude_none=True))
    return {**body, "stored_audio": await _stored_view(deps, await _stored_asset(deps, recording))}


async def _stored_asset(deps: VoiceDeps, recording: OwnedResource) -> ProviderResembleAsset | None:
    asset = await repository.recording_asset(deps.scope.session, recording.id, deps.scope.user_id)
    await deps.scope.session.commit()
    return asset


async def _stored_view(deps: VoiceDeps, asset: ProviderResembleAsset | None) -> dict[str, Any] | None:
    if asset is None:
        return None
    link = await storage_service.presign(deps.storage, asset, deps.presign_ttl)
    return {
        "asset_id": asset.id,
        "audio_url": link.url,
        "url_expires_at": isoformat_z(link.url_expires_at),
        "size_bytes": asset.size_bytes,
    }
