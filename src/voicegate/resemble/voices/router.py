from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from voicegate.deps import ResourcesDep
from voicegate.ratelimit.dependencies import RateLimit
from voicegate.resemble.gating import require_business_plan
from voicegate.resemble.ownership import service as ownership
from voicegate.resemble.ownership.dependencies import Owned, ScopeDep
from voicegate.resemble.ownership.kinds import Kind
from voicegate.resemble.ownership.repository import OwnedResource
from voicegate.resemble.ownership.schemas import Deleted, Paging, error_responses
from voicegate.resemble.ownership.schemas import Page as PageOf
from voicegate.resemble.voices import recordings, service
from voicegate.resemble.voices.schemas import (
    OwnVoice,
    RecordingCreate,
    RecordingEnvelope,
    RecordingRead,
    RecordingUpdate,
    VoiceBuild,
    VoiceBuilt,
    VoiceCreate,
    VoiceEnvelope,
)
from voicegate.resemble.voices.service import VoiceDeps

router = APIRouter(prefix="/resemble/voices", tags=["voices"], dependencies=[Depends(RateLimit("voices"))])

ERRORS = error_responses()
GATED = [Depends(require_business_plan)]

owned_voice = Owned(Kind.VOICE, "voice_uuid")
VoiceDep = Annotated[OwnedResource, Depends(owned_voice)]
RecordingDep = Annotated[OwnedResource, Depends(Owned(Kind.RECORDING, "recording_uuid", parent=owned_voice))]
PagingDep = Annotated[Paging, Query()]


async def voice_deps(scope: ScopeDep, resources: ResourcesDep) -> VoiceDeps:
    return VoiceDeps(
        scope=scope,
        storage=resources.storage,
        settings=resources.settings,
        rate_card=resources.rate_card,
        outbound=resources.media_http,
    )


Deps = Annotated[VoiceDeps, Depends(voice_deps)]


@router.get("", response_model=PageOf[OwnVoice], responses=ERRORS)
async def list_voices(deps: Deps, paging: PagingDep) -> dict[str, Any]:
    """The caller's own voices (cloned or designed), each with its monthly subscription."""
    return await service.list_voices(deps, page=paging.page, page_size=paging.page_size)


@router.post("", response_model=VoiceEnvelope, responses=ERRORS, dependencies=GATED)
async def create_voice(deps: Deps, body: VoiceCreate) -> dict[str, Any]:
    return await service.create_voice(deps, body)


@router.get("/{voice_uuid}", response_model=VoiceEnvelope, responses=ERRORS)
async def get_voice(deps: Deps, voice: VoiceDep) -> dict[str, Any]:
    return await service.get_voice(deps, voice)


@router.post("/{voice_uuid}/build", response_model=VoiceBuilt, responses=error_responses(402), dependencies=GATED)
async def build_voice(deps: Deps, voice: VoiceDep, body: VoiceBuild | None = None) -> dict[str, Any]:
    return await service.build_voice(deps, voice, body or VoiceBuild())


@router.delete("/{voice_uuid}", response_model=Deleted, responses=ERRORS, dependencies=GATED)
async def delete_voice(scope: ScopeDep, voice: VoiceDep) -> Deleted:
    await service.delete_voice(scope, voice)
    return Deleted(uuid=voice.upstream_id)


@router.get("/{voice_uuid}/recordings", response_model=PageOf[RecordingRead], responses=ERRORS)
async def list_recordings(scope: ScopeDep, voice: VoiceDep, paging: PagingDep) -> dict[str, Any]:
    return await ownership.list_page(scope, Kind.RECORDING, page=paging.page, page_size=paging.page_size, parent=voice)


@router.post("/{voice_uuid}/recordings", response_model=RecordingEnvelope, responses=error_responses(413, 415))
async def create_recording(deps: Deps, voice: VoiceDep, body: RecordingCreate) -> dict[str, Any]:
    return await recordings.create_recording(deps, voice, body.fields)


@router.get("/{voice_uuid}/recordings/{recording_uuid}", response_model=RecordingEnvelope, responses=ERRORS)
async def get_recording(deps: Deps, recording: RecordingDep) -> dict[str, Any]:
    return await recordings.get_recording(deps, recording)


@router.put("/{voice_uuid}/recordings/{recording_uuid}", response_model=RecordingEnvelope, responses=ERRORS)
async def update_recording(deps: Deps, recording: RecordingDep, body: RecordingUpdate) -> dict[str, Any]:
    return await recordings.update_recording(deps, recording, body.fields)


@router.delete("/{voice_uuid}/recordings/{recording_uuid}", response_model=Deleted, responses=ERRORS)
async def delete_recording(scope: ScopeDep, recording: RecordingDep) -> Deleted:
    await ownership.delete(scope, recording)
    return Deleted(uuid=recording.upstream_id)
