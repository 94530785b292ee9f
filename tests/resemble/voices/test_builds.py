"""The periodic build refresh (`voices.refresh_builds`): a voice whose build finishes while nobody reads it still has
its model kept under `voice-models/` (permanent), once, whether it was cloned or promoted from a voice design."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import Customer
from tests.resemble.voices.conftest import DESIGN, VOICES, add_recording, build, create_voice
from voicegate.db.models import ProviderResembleAsset, ProviderResembleResource, ProviderResembleVoice
from voicegate.resemble.voices.tasks import refresh_building_voices


async def cloned(client: httpx.AsyncClient, customer: Customer) -> str:
    voice = await create_voice(client, customer)
    await add_recording(client, customer, voice["uuid"])
    assert (await build(client, customer, voice["uuid"])).status_code == 200
    return str(voice["uuid"])


async def designed(client: httpx.AsyncClient, customer: Customer) -> str:
    body = {"description": "A bright, quick voice of a young radio host"}
    design = await client.post(f"{DESIGN}/candidates", json=body, headers=customer.headers)
    assert design.status_code == 200, design.text
    promoted = await client.post(
        f"{DESIGN}/{design.json()['design_uuid']}/promote",
        json={"candidate_index": 0, "name": "Host"},
        headers=customer.headers,
    )
    assert promoted.status_code == 200, promoted.text
    return str(promoted.json()["voice_uuid"])


async def voice_row(session: AsyncSession, uuid: str) -> ProviderResembleVoice:
    row = await session.scalar(
        select(ProviderResembleVoice)
        .join(ProviderResembleResource, ProviderResembleResource.id == ProviderResembleVoice.resource_id)
        .where(ProviderResembleResource.upstream_id == uuid)
        .execution_options(populate_existing=True)
    )
    assert row is not None
    return row


async def models_kept(session: AsyncSession) -> int:
    query = (
        select(func.count())
        .select_from(ProviderResembleAsset)
        .where(ProviderResembleAsset.asset_class == "voice_models")
    )
    return int(await session.scalar(query) or 0)


@pytest.mark.parametrize("origin", ["cloned", "designed"])
async def test_the_refresh_keeps_the_model_of_a_voice_nobody_reads(
    client: httpx.AsyncClient,
    session: AsyncSession,
    customer: Customer,
    app: FastAPI,
    origin: str,
):
    resources = app.state.resources
    uuid = await (cloned if origin == "cloned" else designed)(client, customer)
    assert (await voice_row(session, uuid)).build_status == "building"
    await session.commit()

    deadline = asyncio.get_running_loop().time() + 10
    while True:
        assert await refresh_building_voices(resources) == 1  # the one voice still building
        row = await voice_row(session, uuid)
        await session.commit()
        if row.build_status != "building":
            break
        assert asyncio.get_running_loop().time() < deadline, "the build never finished upstream"
        await asyncio.sleep(0.1)

    assert row.build_status == "built"
    assert row.model_asset_id is not None
    asset = await session.get(ProviderResembleAsset, row.model_asset_id)
    assert asset is not None
    assert asset.storage_key.startswith(f"voice-models/{customer.user.id}/")
    assert asset.expires_at is None  # permanent
    model = json.loads(await resources.storage.get_bytes(asset.storage_key))
    assert (model["uuid"], model["status"]) == (uuid, "finished")

    # Nothing is left to refresh; neither another run nor the owner's read stores the model again.
    assert await refresh_building_voices(resources) == 0
    item = (await client.get(f"{VOICES}/{uuid}", headers=customer.headers)).json()["item"]
    assert item["subscription"]["build_status"] == "built"
    assert await models_kept(session) == 1


async def test_a_voice_gone_upstream_does_not_stop_the_refresh_of_the_others(
    client: httpx.AsyncClient, session: AsyncSession, customer: Customer, app: FastAPI
):
    resources = app.state.resources
    gone, kept = await cloned(client, customer), await cloned(client, customer)
    await resources.upstream.request_json("DELETE", f"voices/{gone}", idempotent=True, operation="test")

    deadline = asyncio.get_running_loop().time() + 10
    while (await voice_row(session, kept)).build_status == "building":
        await session.commit()
        await refresh_building_voices(resources)
        assert asyncio.get_running_loop().time() < deadline, "the live voice was never seen built"
        await asyncio.sleep(0.1)
    assert (await voice_row(session, gone)).build_status == "building"
    assert await models_kept(session) == 1
