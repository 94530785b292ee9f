from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.downloads import download
from tests.factories import Customer
from tests.resemble.voices.conftest import DESIGN, VOICES, upstream_requests
from voicegate.db.models import CreditHold, ProviderResembleAsset, ProviderResembleResource, User
from voicegate.kit import media
from voicegate.resemble.voice_design.service import candidates_of


async def generate(client: httpx.AsyncClient, customer: Customer, **extra: object) -> httpx.Response:
    body = {"description": "A calm, low voice of an older lighthouse keeper", **extra}
    return await client.post(f"{DESIGN}/candidates", json=body, headers=customer.headers)


class TestShapes:
    def test_both_published_shapes_read_the_same(self):
        array = {
            "voice_candidates": [
                {"audio_url": "https://r/1.wav", "voice_sample_index": 1, "uuid": "d1"},
                {"audio_url": "https://r/0.wav", "voice_sample_index": 0, "uuid": "d1"},
            ]
        }
        nested = {
            "voice_candidates": {
                "voice_design_model_uuid": "d1",
                "samples": [
                    {"audio_url": "https://r/0.wav", "sample_index": 0},
                    {"audio_url": "https://r/1.wav", "sample_index": 1},
                ],
            }
        }
        assert candidates_of(array) == candidates_of(nested)
        assert [sample.index for sample in candidates_of(array).samples] == [0, 1]

    @pytest.mark.parametrize("answer", [{}, {"voice_candidates": []}, {"voice_candidates": {"samples": []}}])
    def test_an_answer_without_a_design_is_an_upstream_error(self, answer: dict):
        from voicegate.errors import UpstreamError

        with pytest.raises(UpstreamError):
            candidates_of(answer)


class TestCandidates:
    @pytest.mark.parametrize("shape", ["array", "object"])
    async def test_candidates_are_mirrored_billed_and_owned(
        self,
        client: httpx.AsyncClient,
        session: AsyncSession,
        customer: Customer,
        simulator: httpx.AsyncClient,
        shape: str,
    ):
        assert (await simulator.put("/_sim/voice-design/shape", json={"shape": shape})).status_code == 200
        response = await generate(client, customer)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["candidates"]) == 3
        assert [c["index"] for c in body["candidates"]] == [0, 1, 2]
        assert Decimal(body["billing"]["charged"]) == Decimal("0.06")  # $0.05 per generation + 20 %
        for candidate in body["candidates"]:
            audio = await download(client, candidate["audio_url"])
            assert media.sniff(audio[:64]) is not None
            expires = datetime.fromisoformat(candidate["expires_at"].replace("Z", "+00:00"))
            assert timedelta(days=13, hours=23) < expires - datetime.now(expires.tzinfo) <= timedelta(days=14)
            assert candidate["resemble_url"]
        keys = (await session.scalars(select(ProviderResembleAsset.storage_key))).all()
        assert len(keys) == 3
        assert all(key.startswith(f"voice-design/{customer.user.id}/") for key in keys)
        row = await session.scalar(
            select(ProviderResembleResource).where(ProviderResembleResource.upstream_id == body["design_uuid"])
        )
        assert row is not None
        assert (row.kind, row.user_id) == ("voice_design", customer.user.id)
        sent = [r for r in await upstream_requests(simulator, "/voice-design") if r["method"] == "POST"][-1]
        assert sent["json"]["user_prompt"].startswith("A calm, low voice")

    async def test_sample_text_is_refused_with_the_reason(
        self, client: httpx.AsyncClient, customer: Customer, simulator: httpx.AsyncClient
    ):
        response = await generate(client, customer, sample_text="Say this")
        assert response.status_code == 422
        assert "sample text" in str(response.json()["detail"])
        assert await upstream_requests(simulator, "/voice-design") == []

    async def test_no_credit_is_402_before_upstream(
        self, client: httpx.AsyncClient, session: AsyncSession, simulator: httpx.AsyncClient
    ):
        from tests.factories import create_customer

        broke = await create_customer(session, credits="0.01")
        assert (await generate(client, broke)).status_code == 402
        assert await upstream_requests(simulator, "/voice-design") == []


class TestPromote:
    async def test_promotion_creates_an_owned_rapid_voice_and_pays_its_month(
        self, client: httpx.AsyncClient, session: AsyncSession, customer: Customer
    ):
        design = (await generate(client, customer)).json()
        before = await session.scalar(
            select(User.balance_usd).where(User.id == customer.user.id).execution_options(populate_existing=True)
        )
        response = await client.post(
            f"{DESIGN}/{design['design_uuid']}/promote",
            json={"candidate_index": 1, "name": "Keeper"},
            headers=customer.headers,
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert Decimal(body["billing"]["charged"]) == Decimal("2.40")
        assert body["subscription"]["voice_type"] == "rapid"
        after = await session.scalar(
            select(User.balance_usd).where(User.id == customer.user.id).execution_options(populate_existing=True)
        )
        assert before is not None
        assert after == before - Decimal("2.40")
        mine = (await client.get(VOICES, headers=customer.headers)).json()["items"]
        assert [item["uuid"] for item in mine] == [body["voice_uuid"]]

    async def test_another_users_design_is_404_without_upstream(
        self, client: httpx.AsyncClient, customer: Customer, other: Customer, simulator: httpx.AsyncClient
    ):
        design = (await generate(client, customer)).json()
        await simulator.delete("/_sim/requests")
        response = await client.post(
            f"{DESIGN}/{design['design_uuid']}/promote",
            json={"candidate_index": 0, "name": "Mine now"},
            headers=other.headers,
        )
        assert response.status_code == 404
        assert await upstream_requests(simulator, "/voice-design") == []

    @pytest.mark.parametrize(
        "body", [{"candidate_index": -1, "name": "x"}, {"candidate_index": 0, "name": ""}, {"name": "x"}]
    )
    async def test_bad_promotions_are_422(self, client: httpx.AsyncClient, customer: Customer, body: dict):
        design = (await generate(client, customer)).json()
        response = await client.post(f"{DESIGN}/{design['design_uuid']}/promote", json=body, headers=customer.headers)
        assert response.status_code == 422


async def test_a_promotion_whose_owner_cannot_be_recorded_is_undone_and_charges_nothing(
    client: httpx.AsyncClient,
    session: AsyncSession,
    customer: Customer,
    simulator: httpx.AsyncClient,
    request: pytest.FixtureRequest,
):
    design = (await generate(client, customer)).json()
    before = await session.scalar(
        select(User.balance_usd).where(User.id == customer.user.id).execution_options(populate_existing=True)
    )
    request.getfixturevalue("ownership_writes_fail")
    response = await client.post(
        f"{DESIGN}/{design['design_uuid']}/promote",
        json={"candidate_index": 0, "name": "Keeper"},
        headers=customer.headers,
    )
    assert response.status_code == 503
    after = await session.scalar(
        select(User.balance_usd).where(User.id == customer.user.id).execution_options(populate_existing=True)
    )
    assert after == before
    deleted = [r for r in await upstream_requests(simulator, "/voices/") if r["method"] == "DELETE"]
    assert len(deleted) == 1
    held = await session.scalar(select(func.count()).select_from(CreditHold).where(CreditHold.status == "held"))
    assert held == 0
