"""A user with something of every kind the gateway keeps, and checks that none of it is reachable any more."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI

from tests.factories import ADMIN_HEADERS, Customer
from tests.resemble.agents.conftest import create_agent
from tests.resemble.identity.conftest import enroll
from tests.resemble.jobs.helpers import submit, upload, wait_terminal
from tests.resemble.projects.conftest import VOICE_UUID, create_project
from tests.resemble.uploads.support import stored_for_user
from tests.resemble.voices.conftest import add_recording, build, create_voice, wait_built
from voicegate.db.models import ProviderResembleJob
from voicegate.kit.time import utc_now
from voicegate.storage import keys
from voicegate.storage.retention import AssetClass, deleted_key

SIM_AUTH = {"Authorization": "Bearer simulator"}


@dataclass
class Holdings:
    """What one user made, by upstream id and stored link."""

    upload_url: str = ""
    project: str = ""
    agent: str = ""
    voice: str = ""
    recording: str = ""
    identity: str = ""
    detect_job: str = ""
    detect_upstream: str = ""
    soft_deleted_key: str = ""
    links: list[str] = field(default_factory=list)


async def populate(app: FastAPI, client: httpx.AsyncClient, customer: Customer) -> Holdings:
    """Uploads, a synthesis, a detect and an enhance job, a project, an agent, a built voice with a recording, an
    identity, and an object in the soft-delete area (as the expiry task leaves one)."""
    held = Holdings()
    uploaded = await upload(client, customer, purpose=None)
    held.upload_url = uploaded["url"]
    speech = await client.post(
        "/api/v1/resemble/tts/synthesize", json={"voice_uuid": VOICE_UUID, "text": "Hello"}, headers=customer.headers
    )
    assert speech.status_code == 200, speech.text
    held.links.append(speech.json()["audio_url"])
    job_input = (await upload(client, customer))["url"]
    for path in ("detect", "enhance"):
        submitted = await submit(client, customer, path, job_input)
        assert submitted.status_code in (200, 201, 202), submitted.text
        done = await wait_terminal(client, customer, path, submitted.json()["job_id"])
        assert done["status"] == "completed", done
        if path == "detect":
            held.detect_job = done["job_id"]
            async with app.state.resources.sessionmaker() as session:
                job = await session.get(ProviderResembleJob, held.detect_job)
                assert job is not None
                assert job.upstream_id
                held.detect_upstream = job.upstream_id
    held.project = await create_project(client, customer)
    held.agent = await create_agent(client, customer)
    held.voice = str((await create_voice(client, customer))["uuid"])
    held.recording = str((await add_recording(client, customer, held.voice))["item"]["uuid"])
    assert (await build(client, customer, held.voice)).status_code == 200
    await wait_built(client, customer, held.voice)
    held.identity = str((await enroll(client, customer))["item"]["uuid"])
    storage = app.state.resources.storage
    held.soft_deleted_key = deleted_key(
        keys.object_key(AssetClass.TTS_OUTPUT, customer.user.id, "expired-1", "wav", utc_now())
    )
    await storage.put_bytes(held.soft_deleted_key, b"RIFF expired", "audio/wav")
    return held


async def upstream_status(simulator: httpx.AsyncClient, path: str) -> int:
    return (await simulator.get(f"/api/v2/{path}", headers=SIM_AUTH)).status_code


async def account_identities(simulator: httpx.AsyncClient) -> list[str]:
    listed = await simulator.get("/api/v2/identity", params={"page": 1, "page_size": 1000}, headers=SIM_AUTH)
    return [item["uuid"] for item in listed.json()["items"]]


async def fetch_link(client: httpx.AsyncClient, url: str) -> int:
    """Download a link the gateway issued: local links through the app, S3 presigned ones from the server."""
    if url.startswith("http://testserver/"):
        return (await client.get(url)).status_code
    async with httpx.AsyncClient(trust_env=False, timeout=30) as http:
        return (await http.get(url)).status_code


async def assert_nothing_reachable(
    app: FastAPI, client: httpx.AsyncClient, simulator: httpx.AsyncClient, customer: Customer, held: Holdings
) -> None:
    assert stored_for_user(app, customer.user.id) == []
    for url in [held.upload_url, *held.links]:
        assert await fetch_link(client, url) in (403, 404, 410), url
    gone = (
        f"projects/{held.project}",
        f"agents/{held.agent}",
        f"voices/{held.voice}",
        f"detect/{held.detect_upstream}",
    )
    for path in gone:
        assert await upstream_status(simulator, path) == 404, path
    assert await upstream_status(simulator, f"detect/{held.detect_upstream}") == 404
    assert held.identity not in await account_identities(simulator)
    usage = await client.get("/api/v1/user/usage", headers=customer.headers)
    assert usage.status_code == 401


async def erase(client: httpx.AsyncClient, user_id: str, **headers: str) -> httpx.Response:
    return await client.delete(f"/api/v1/admin/users/{user_id}", headers={**ADMIN_HEADERS, **headers})


def report_of(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return dict(response.json())
