"""A media URL the gateway did not issue passes the SSRF guard and goes to Resemble as given (it fetches it)."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI, Response

from tests.factories import Customer
from tests.resemble.identity.conftest import IDENTITY, upstream_calls, voice
from voicegate.config import Settings
from voicegate.kit.transports import RoutingTransport

FOREIGN = "http://127.0.0.1:9"  # a private address: reachable only because the test lifts the address check


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"outbound_allow_private_networks": True})


@pytest.fixture
def media_host(app: FastAPI) -> None:
    """Resemble's fetches of FOREIGN land on a little media host."""
    media = FastAPI()

    @media.get("/voice.wav")
    async def voice_file() -> Response:
        return Response(voice(1), media_type="audio/wav")

    outbound = app.state.resources.simulator.state.gateway_outbound
    outbound._transport = RoutingTransport({FOREIGN: httpx.ASGITransport(app=media)}, default=outbound._transport)


@pytest.mark.usefixtures("media_host")
async def test_enroll_and_search_by_an_external_url(
    client: httpx.AsyncClient, alice: Customer, simulator: httpx.AsyncClient
):
    url = f"{FOREIGN}/voice.wav"
    enrolled = await client.post(f"{IDENTITY}/enroll", json={"name": "Ann", "url": url}, headers=alice.headers)
    assert enrolled.status_code == 200, enrolled.text
    uuid = enrolled.json()["item"]["uuid"]
    found = await client.post(f"{IDENTITY}/search", json={"url": url}, headers=alice.headers)
    assert found.status_code == 200, found.text
    assert found.json()["item"][uuid]["distance"] == 100.0
    sent = [call["json"]["url"] for call in await upstream_calls(simulator) if call["method"] == "POST"]
    assert sent == [url, url]
