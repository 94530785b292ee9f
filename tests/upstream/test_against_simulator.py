"""The client against the in-process Resemble simulator: real wire shapes, faults injected over `/_sim`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from voicegate.errors import UpstreamError, UpstreamRejected
from voicegate.simulator import create_simulator_app
from voicegate.upstream import ResembleClient, UpstreamFault

from .fakes import RecordingSleep


class Simulator:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    async def inject(self, path: str, **fault: Any) -> None:
        response = await self._http.post("http://sim/_sim/faults", json={"path": path, **fault})
        assert response.status_code == 201, response.text

    async def requests_to(self, path: str) -> list[dict[str, Any]]:
        response = await self._http.get("http://sim/_sim/requests")
        return [entry for entry in response.json() if entry["path"] == path]


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_simulator_app(api_key="k"))) as http:
        yield http


@pytest.fixture
def simulator(http: httpx.AsyncClient) -> Simulator:
    return Simulator(http)


def make_client(http: httpx.AsyncClient, sleep: RecordingSleep, api_key: str = "k") -> ResembleClient:
    return ResembleClient(http, api_key=api_key, base_url="http://sim/api/v2", synth_url="http://sim", sleep=sleep)


@pytest.fixture
def client(http: httpx.AsyncClient, sleep: RecordingSleep) -> ResembleClient:
    return make_client(http, sleep)


class TestHappyPath:
    async def test_lists_voices(self, client: ResembleClient) -> None:
        listing = await client.list_voices(page=1, page_size=10)

        assert listing["success"] is True
        assert listing["page"] == 1
        assert {voice["uuid"] for voice in listing["items"]} >= {"55592656"}

    async def test_gets_one_voice(self, client: ResembleClient) -> None:
        voice = await client.get_voice("55592656")

        assert voice["item"]["name"] == "Ellie"

    async def test_synthesizes(self, client: ResembleClient, simulator: Simulator) -> None:
        result = await client.synthesize(
            {"voice_uuid": "55592656", "data": "Hello there", "sample_rate": 22050, "output_format": "wav"}
        )

        assert result["success"] is True
        assert result["audio_content"]
        assert result["duration"] > 0
        [sent] = await simulator.requests_to("/synthesize")
        assert sent["json"]["sample_rate"] == "22050"
        assert sent["headers"]["authorization"] == "Bearer <redacted>"


class TestRefusals:
    async def test_an_unknown_voice_is_404_with_resembles_message(self, client: ResembleClient) -> None:
        with pytest.raises(UpstreamRejected) as caught:
            await client.get_voice("nope")

        assert caught.value.status_code == 404
        assert "nope" in caught.value.detail

    async def test_a_bad_synthesis_request_is_400(self, client: ResembleClient) -> None:
        with pytest.raises(UpstreamRejected) as caught:
            await client.synthesize({"voice_uuid": "55592656", "data": ""})

        assert caught.value.status_code == 400

    async def test_a_wrong_key_is_502(self, http: httpx.AsyncClient, sleep: RecordingSleep) -> None:
        with pytest.raises(UpstreamError) as caught:
            await make_client(http, sleep, api_key="wrong").list_voices(1, 10)

        assert (caught.value.status_code, caught.value.detail) == (502, "Resemble upstream error")


class TestInjectedFaults:
    async def test_a_500_on_synthesize_is_502_and_not_retried(
        self, client: ResembleClient, simulator: Simulator
    ) -> None:
        await simulator.inject("^/synthesize$", status=500, count=1)

        with pytest.raises(UpstreamFault) as caught:
            await client.synthesize({"voice_uuid": "55592656", "data": "Hello"})

        assert caught.value.status_code == 502
        assert len(await simulator.requests_to("/synthesize")) == 1

    async def test_a_malformed_body_is_502(self, client: ResembleClient, simulator: Simulator) -> None:
        await simulator.inject("^/synthesize$", mode="malformed", count=1)

        with pytest.raises(UpstreamFault) as caught:
            await client.synthesize({"voice_uuid": "55592656", "data": "Hello"})

        assert (caught.value.status_code, caught.value.detail) == (502, "Resemble upstream error")

    async def test_a_reset_connection_on_synthesize_is_502(self, client: ResembleClient, simulator: Simulator) -> None:
        await simulator.inject("^/synthesize$", mode="reset", count=1)

        with pytest.raises(UpstreamFault):
            await client.synthesize({"voice_uuid": "55592656", "data": "Hello"})

        assert len(await simulator.requests_to("/synthesize")) == 1

    async def test_a_500_on_a_voice_read_is_retried(
        self, client: ResembleClient, simulator: Simulator, sleep: RecordingSleep
    ) -> None:
        await simulator.inject("^/api/v2/voices/", status=503, count=1)

        voice = await client.get_voice("55592656")

        assert voice["item"]["uuid"] == "55592656"
        assert len(await simulator.requests_to("/api/v2/voices/55592656")) == 2

    async def test_a_429_is_retried_after_retry_after(
        self, client: ResembleClient, simulator: Simulator, sleep: RecordingSleep
    ) -> None:
        await simulator.inject("^/synthesize$", status=429, count=1)

        result = await client.synthesize({"voice_uuid": "55592656", "data": "Hello"})

        assert result["success"] is True
        assert sleep.delays == [1.0]
