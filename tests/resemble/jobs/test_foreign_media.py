"""Media URLs the gateway did not issue: fetched behind the SSRF guard where Resemble wants a file, passed through
where it takes a URL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI, Response
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import create_customer
from tests.resemble.jobs.helpers import WAV_2S, gateway_reaching, wait_terminal
from voicegate.config import Settings

FOREIGN = "http://127.0.0.1:9"


@pytest.fixture
async def open_network(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """A gateway allowed to reach private addresses, whose outbound requests land on a little media host."""
    media = FastAPI()

    @media.get("/clip.wav")
    async def clip() -> Response:
        return Response(WAV_2S, media_type="audio/wav")

    @media.get("/notes.txt")
    async def notes() -> Response:
        return Response(b"just some text, not audio at all", media_type="text/plain")

    async with gateway_reaching(settings, media) as reached:
        yield reached


async def test_file_endpoints_get_the_fetched_bytes(
    open_network: tuple[FastAPI, httpx.AsyncClient], session: AsyncSession
):
    app, http = open_network
    customer = await create_customer(session)
    created = await http.post(
        "/api/v1/resemble/stt", json={"audio_url": f"{FOREIGN}/clip.wav"}, headers=customer.headers
    )
    assert created.status_code == 201, created.text
    done = await wait_terminal(http, customer, "stt", created.json()["job_id"])
    assert done["status"] == "completed"
    assert Decimal(str(done["billing"]["quantity"])) == pytest.approx(Decimal(2), abs=Decimal("0.05"))
    sim = httpx.AsyncClient(transport=httpx.ASGITransport(app=app.state.resources.simulator), base_url="http://sim")
    submitted = [r for r in (await sim.get("/_sim/requests")).json() if r["path"].endswith("/speech-to-text")]
    assert submitted
    assert submitted[-1]["method"] == "POST"


async def test_url_endpoints_pass_the_url_through(
    open_network: tuple[FastAPI, httpx.AsyncClient], session: AsyncSession
):
    app, http = open_network
    customer = await create_customer(session)
    url = f"{FOREIGN}/clip.wav"
    created = await http.post("/api/v1/resemble/detect", json={"audio_url": url}, headers=customer.headers)
    assert created.status_code == 201, created.text
    sim = httpx.AsyncClient(transport=httpx.ASGITransport(app=app.state.resources.simulator), base_url="http://sim")
    submitted = [r for r in (await sim.get("/_sim/requests")).json() if r["path"].endswith("/detect")]
    assert submitted[-1]["json"]["url"] == url


async def test_fetched_non_media_is_415_and_costs_nothing(
    open_network: tuple[FastAPI, httpx.AsyncClient], session: AsyncSession
):
    _, http = open_network
    customer = await create_customer(session)
    response = await http.post(
        "/api/v1/resemble/enhance", json={"audio_url": f"{FOREIGN}/notes.txt"}, headers=customer.headers
    )
    assert response.status_code == 415
    usage = (await http.get("/api/v1/user/usage", headers=customer.headers)).json()
    assert usage["credits_usd"] == "10.000000"


async def test_unreachable_media_is_502_and_costs_nothing(
    open_network: tuple[FastAPI, httpx.AsyncClient], session: AsyncSession
):
    _, http = open_network
    customer = await create_customer(session)
    response = await http.post(
        "/api/v1/resemble/enhance", json={"audio_url": f"{FOREIGN}/missing.wav"}, headers=customer.headers
    )
    assert response.status_code == 502
    assert "could not fetch audio_url" in response.json()["detail"]
