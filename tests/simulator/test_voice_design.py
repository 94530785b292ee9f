"""Voice design: candidates in both documented shapes, expiring sample links, the list, and promotion to a voice."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from voicegate.simulator import close_simulator_app, create_simulator_app

from .conftest import API_KEY, AUTH, read_pcm_wav

DESIGN = "/api/v2/voice-design"
PROMPT = "A calm, low narrator with a slight rasp"


def clocked(app: FastAPI) -> list[float]:
    now = [0.0]
    app.state.simulator.jobs.clock = lambda: now[0]
    return now


async def design(client: httpx.AsyncClient, prompt: str = PROMPT, **kwargs: Any) -> dict[str, Any]:
    response = await client.post(DESIGN, json={"user_prompt": prompt}, headers=AUTH, **kwargs)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def download(client: httpx.AsyncClient, url: str) -> bytes:
    response = await client.get(url)  # signed link: no API key
    assert response.status_code == 200
    assert response.headers["content-type"] == "audio/wav"
    return response.content


@pytest.fixture
async def object_client() -> AsyncIterator[httpx.AsyncClient]:
    app = create_simulator_app(API_KEY, voice_design_shape="object")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim") as client:
        yield client
    await close_simulator_app(app)


class TestGenerate:
    async def test_the_default_shape_is_an_array_of_three_sharing_the_design_uuid(
        self, client: httpx.AsyncClient
    ) -> None:
        body = await design(client)
        assert set(body) == {"voice_candidates"}
        candidates = body["voice_candidates"]
        assert [c["voice_sample_index"] for c in candidates] == [0, 1, 2]
        assert all(set(c) == {"audio_url", "voice_sample_index", "uuid"} for c in candidates)
        assert len({c["uuid"] for c in candidates}) == 1
        for candidate in candidates:
            with read_pcm_wav(await download(client, candidate["audio_url"])) as wav:
                assert wav.getnframes() / wav.getframerate() == pytest.approx(3.0)

    async def test_the_audio_follows_the_prompt(self, client: httpx.AsyncClient) -> None:
        first = [await download(client, c["audio_url"]) for c in (await design(client))["voice_candidates"]]
        again = [await download(client, c["audio_url"]) for c in (await design(client))["voice_candidates"]]
        other = [await download(client, c["audio_url"]) for c in (await design(client, "bright"))["voice_candidates"]]
        assert first == again
        assert len(set(first)) == 3
        assert other != first

    async def test_the_object_shape(self, object_client: httpx.AsyncClient) -> None:
        body = await design(object_client)
        candidates = body["voice_candidates"]
        assert set(candidates) == {"voice_design_model_uuid", "samples"}
        assert [s["sample_index"] for s in candidates["samples"]] == [0, 1, 2]
        assert all(set(s) == {"audio_url", "sample_index"} for s in candidates["samples"])
        await download(object_client, candidates["samples"][2]["audio_url"])

    async def test_the_shape_switches_at_run_time(self, client: httpx.AsyncClient) -> None:
        assert (await client.get("/_sim/voice-design/shape")).json() == {"shape": "array"}
        assert (await client.put("/_sim/voice-design/shape", json={"shape": "object"})).json() == {"shape": "object"}
        assert "samples" in (await design(client))["voice_candidates"]
        assert (await client.put("/_sim/voice-design/shape", json={"shape": "list"})).status_code == 400
        assert (await client.put("/_sim/voice-design/shape", content=b"{")).status_code == 400
        assert (await client.get("/_sim/voice-design/shape")).json() == {"shape": "object"}

    def test_an_unknown_shape_is_refused_at_construction(self) -> None:
        with pytest.raises(ValueError, match="voice_design_shape"):
            create_simulator_app(API_KEY, voice_design_shape="list")  # type: ignore[arg-type]

    async def test_multipart_is_accepted(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            DESIGN, files={"user_prompt": (None, PROMPT), "is_voice_design_trial": (None, "false")}, headers=AUTH
        )
        assert response.status_code == 200
        assert len(response.json()["voice_candidates"]) == 3

    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"user_prompt": ""},
            {"user_prompt": 5},
            {"user_prompt": "x" * 2001},
            {"user_prompt": "a", "is_voice_design_trial": "maybe"},
        ],
    )
    async def test_invalid_requests_are_422(self, client: httpx.AsyncClient, body: dict[str, Any]) -> None:
        response = await client.post(DESIGN, json=body, headers=AUTH)
        assert response.status_code == 422
        assert response.json()["success"] is False
        assert response.json()["errors"]

    async def test_sample_links_expire_after_four_hours(self, client: httpx.AsyncClient, sim_app: FastAPI) -> None:
        now = clocked(sim_app)
        url = (await design(client))["voice_candidates"][0]["audio_url"]
        now[0] = 4 * 3600 - 1
        await download(client, url)
        now[0] = 4 * 3600
        assert (await client.get(url)).status_code == 404


class TestList:
    async def test_designs_are_listed_with_their_samples(self, client: httpx.AsyncClient) -> None:
        assert (await client.get(DESIGN, headers=AUTH)).json() == {"voice_designs": []}
        created = (await design(client))["voice_candidates"]
        listed = (await client.get(DESIGN, headers=AUTH)).json()["voice_designs"]
        assert len(listed) == 1
        item = listed[0]
        assert set(item) == {"uuid", "prompt_text", "preview_samples", "created_at"}
        assert (item["uuid"], item["prompt_text"]) == (created[0]["uuid"], PROMPT)
        assert item["preview_samples"] == [
            {"audio_url": c["audio_url"], "sample_index": i} for i, c in enumerate(created)
        ]

    async def test_designs_belong_to_the_key_that_made_them(self) -> None:
        app = create_simulator_app(None)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim") as client:
            team_a, team_b = {"Authorization": "Bearer key-a"}, {"Authorization": "Bearer key-b"}
            made = await client.post(DESIGN, json={"user_prompt": PROMPT}, headers=team_a)
            design_uuid = made.json()["voice_candidates"][0]["uuid"]
            assert (await client.get(DESIGN, headers=team_b)).json() == {"voice_designs": []}
            promote = f"{DESIGN}/{design_uuid}/0/create_rapid_voice"
            assert (await client.post(promote, json={"voice_name": "x"}, headers=team_b)).status_code == 404
        await close_simulator_app(app)


class TestPromote:
    @pytest.mark.parametrize("suffix", ["create_rapid_voice", "create"])
    async def test_promotion_creates_a_rapid_voice_that_builds(
        self, client: httpx.AsyncClient, sim_app: FastAPI, suffix: str
    ) -> None:
        now = clocked(sim_app)
        design_uuid = (await design(client))["voice_candidates"][0]["uuid"]
        response = await client.post(f"{DESIGN}/{design_uuid}/2/{suffix}", json={"voice_name": "Rasp"}, headers=AUTH)
        assert response.status_code == 202
        assert set(response.json()) == {"voice_uuid"}
        voice_path = f"/api/v2/voices/{response.json()['voice_uuid']}"
        delay = sim_app.state.simulator.jobs.delay_s
        seen = []
        for elapsed in (0.0, delay / 2, delay):
            now[0] = elapsed
            voice = (await client.get(voice_path, headers=AUTH)).json()["item"]
            seen.append(voice["status"])
        assert seen == ["initializing", "running", "finished"]
        assert (voice["name"], voice["voice_type"], voice["source"]) == ("Rasp", "rapid", "Custom Voice")

    async def test_voice_name_may_come_as_a_form(self, client: httpx.AsyncClient) -> None:
        design_uuid = (await design(client))["voice_candidates"][0]["uuid"]
        response = await client.post(
            f"{DESIGN}/{design_uuid}/0/create_rapid_voice", data={"voice_name": "Formed"}, headers=AUTH
        )
        assert response.status_code == 202
        voice = await client.get(f"/api/v2/voices/{response.json()['voice_uuid']}", headers=AUTH)
        assert voice.json()["item"]["name"] == "Formed"

    @pytest.mark.parametrize(
        ("index", "body"),
        [
            ("3", {"voice_name": "x"}),
            ("x", {"voice_name": "x"}),
            ("-1", {"voice_name": "x"}),
            ("0", {}),
            ("0", {"voice_name": "x" * 257}),
        ],
    )
    async def test_bad_index_or_name_is_422(self, client: httpx.AsyncClient, index: str, body: dict[str, Any]) -> None:
        design_uuid = (await design(client))["voice_candidates"][0]["uuid"]
        response = await client.post(f"{DESIGN}/{design_uuid}/{index}/create_rapid_voice", json=body, headers=AUTH)
        assert response.status_code == 422
        assert response.json()["success"] is False

    async def test_unknown_design_is_404(self, client: httpx.AsyncClient) -> None:
        response = await client.post(f"{DESIGN}/nope/0/create_rapid_voice", json={"voice_name": "x"}, headers=AUTH)
        assert response.status_code == 404
        assert "nope" in response.json()["message"]

    async def test_a_faulted_promotion_ends_failed(self, client: httpx.AsyncClient, sim_app: FastAPI) -> None:
        now = clocked(sim_app)
        design_uuid = (await design(client))["voice_candidates"][0]["uuid"]
        await client.post("/_sim/faults", json={"path": "create_rapid_voice$", "mode": "job_fail"})
        response = await client.post(
            f"{DESIGN}/{design_uuid}/1/create_rapid_voice", json={"voice_name": "x"}, headers=AUTH
        )
        now[0] = 100.0
        voice = await client.get(f"/api/v2/voices/{response.json()['voice_uuid']}", headers=AUTH)
        assert voice.json()["item"]["status"] == "failed"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", DESIGN),
        ("GET", DESIGN),
        ("POST", f"{DESIGN}/d1/0/create_rapid_voice"),
        ("POST", f"{DESIGN}/d1/0/create"),
    ],
)
async def test_faults_cover_the_design_routes(client: httpx.AsyncClient, method: str, path: str) -> None:
    await client.post("/_sim/faults", json={"path": f"^{path}$", "status": 500})
    response = await client.request(method, path, json={}, headers=AUTH)
    assert response.status_code == 500
    assert (await client.get("/_sim/requests")).json()[-1]["path"] == path
