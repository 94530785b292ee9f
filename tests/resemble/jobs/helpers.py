"""Shared steps for the async-job tests: real audio, uploads through the route, polling to the end."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
import math
import struct
import wave
from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests import services
from tests.factories import Customer, create_customer
from voicegate.app import create_app
from voicegate.config import Settings
from voicegate.db.models import ProviderResembleJob


def make_wav(seconds: float = 2.0, rate: int = 16000) -> bytes:
    frames = int(seconds * rate)
    samples = b"".join(struct.pack("<h", int(3000 * math.sin(i / 12))) for i in range(frames))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples)
    return buffer.getvalue()


WAV_2S = make_wav(2.0)


async def upload(
    client: httpx.AsyncClient,
    customer: Customer,
    data: bytes = WAV_2S,
    purpose: str | None = "audio_job_input",
    filename: str = "clip.wav",
    content_type: str = "audio/wav",
) -> dict[str, Any]:
    form = {"purpose": purpose} if purpose else {}
    response = await client.post(
        "/api/v1/resemble/uploads",
        headers=customer.headers,
        data=form,
        files={"file": (filename, data, content_type)},
    )
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


SUBMIT_BODIES: dict[str, dict[str, Any]] = {
    "stt": {},
    "enhance": {"remove_noise": True},
    "edit": {"original_transcript": "hello there", "target_transcript": "hello world", "voice_uuid": "55592656"},
    "detect": {},
    "intelligence": {},
    "tracing": {},
    "watermark/apply": {"strength": 0.3},
    "watermark/detect": {},
}


async def submit(client: httpx.AsyncClient, customer: Customer, path: str, url: str, **extra: Any) -> httpx.Response:
    body = {"audio_url": url, **SUBMIT_BODIES[path], **extra}
    return await client.post(f"/api/v1/resemble/{path}", json=body, headers=customer.headers)


async def wait_terminal(
    client: httpx.AsyncClient, customer: Customer, path: str, job_id: str, timeout_s: float = 15
) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        response = await client.get(f"/api/v1/resemble/{path}/{job_id}", headers=customer.headers)
        assert response.status_code == 200, response.text
        body = dict(response.json())
        if body["status"] in ("completed", "failed"):
            return body
        assert asyncio.get_running_loop().time() < deadline, f"job still {body['status']}"
        await asyncio.sleep(0.2)


@contextlib.asynccontextmanager
async def gateway_reaching(settings: Settings, media: FastAPI) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """A gateway allowed to reach private addresses, whose outbound media fetches land on the app `media`."""
    app = create_app(settings.model_copy(update={"outbound_allow_private_networks": True}))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=media)) as media_http:
            app.state.resources = dataclasses.replace(app.state.resources, media_http=media_http)
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
                yield app, http
        await services.truncate_all(app.state.resources.engine)


async def open_edit_job(http: httpx.AsyncClient, session: AsyncSession) -> tuple[Customer, dict[str, Any], str]:
    """A new customer's edit job, still open: (customer, the create answer, the job's callback token)."""
    customer = await create_customer(session)
    source = await upload(http, customer)
    job = (await submit(http, customer, "edit", source["url"])).json()
    token = await session.scalar(
        select(ProviderResembleJob.callback_token).where(ProviderResembleJob.id == job["job_id"])
    )
    assert token
    return customer, job, token
