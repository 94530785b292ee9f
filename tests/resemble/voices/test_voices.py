from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests import services
from tests.downloads import download
from tests.factories import Customer
from tests.resemble.voices.conftest import (
    CONSENT,
    VOICES,
    add_recording,
    build,
    create_voice,
    upstream_requests,
    wait_built,
)
from voicegate.app import create_app
from voicegate.config import Settings
from voicegate.db.models import (
    CreditHold,
    ProviderResembleAsset,
    ProviderResembleResource,
    ProviderResembleUsage,
    ProviderResembleVoice,
    ProviderResembleVoiceSubscription,
    User,
)

MONTH_RAPID = Decimal("2.40")  # $2.00 per month at the default 20 % markup
MONTH_PROFESSIONAL = Decimal("6.00")


async def balance(session: AsyncSession, user_id: str) -> Decimal:
    value = await session.scalar(
        select(User.balance_usd).where(User.id == user_id).execution_options(populate_existing=True)
    )
    assert value is not None
    return value


class TestCreate:
    async def test_create_sends_the_consent_and_records_owner_and_voice(
        self, client: httpx.AsyncClient, session: AsyncSession, customer: Customer, simulator: httpx.AsyncClient
    ):
        item = await create_voice(client, customer, description="Warm narrator", voice_type="professional")
        assert item["source"] == "Custom Voice"
        assert item["subscription"]["build_status"] == "not_built"
        assert item["subscription"]["suspended"] is False
        assert item["subscription"]["monthly_price"] == str(MONTH_PROFESSIONAL.quantize(Decimal("0.000001")))
        sent = [r for r in await upstream_requests(simulator, "/voices") if r["method"] == "POST"][-1]
        assert sent["json"]["consent"] == CONSENT
        assert sent["json"]["voice_type"] == "professional"
        assert sent["json"]["description"] == "Warm narrator"
        row = await session.scalar(
            select(ProviderResembleResource).where(ProviderResembleResource.upstream_id == item["uuid"])
        )
        assert row is not None
        assert (row.kind, row.user_id) == ("voice", customer.user.id)
        voice = await session.scalar(select(ProviderResembleVoice).where(ProviderResembleVoice.resource_id == row.id))
        assert voice is not None
        assert (voice.voice_type, voice.consent_text, voice.billing_anchor_at) == ("professional", CONSENT, None)

    @pytest.mark.parametrize(
        "body",
        [
            {"name": "Ada"},
            {"name": "Ada", "consent_text": "   "},
            {"name": "", "consent_text": CONSENT},
            {"name": "Ada", "consent_text": CONSENT, "voice_type": "marketplace"},
            {"name": "x" * 257, "consent_text": CONSENT},
        ],
    )
    async def test_bad_input_is_422_and_nothing_reaches_upstream(
        self, client: httpx.AsyncClient, customer: Customer, simulator: httpx.AsyncClient, body: dict
    ):
        response = await client.post(VOICES, json=body, headers=customer.headers)
        assert response.status_code == 422
        assert "detail" in response.json()
        assert [r for r in await upstream_requests(simulator, "/voices") if r["method"] == "POST"] == []

    async def test_missing_consent_names_the_rule(self, client: httpx.AsyncClient, customer: Customer):
        response = await client.post(VOICES, json={"name": "Ada"}, headers=customer.headers)
        assert "consent" in json.dumps(response.json()["detail"])

    async def test_own_list_and_get_show_only_the_callers_voices(
        self, client: httpx.AsyncClient, customer: Customer, other: Customer
    ):
        mine = await create_voice(client, customer, name="Mine")
        theirs = await create_voice(client, other, name="Theirs")
        listing = (await client.get(VOICES, headers=customer.headers)).json()
        assert [item["uuid"] for item in listing["items"]] == [mine["uuid"]]
        assert listing["total_count"] == 1
        assert (await client.get(f"{VOICES}/{theirs['uuid']}", headers=customer.headers)).status_code == 404


class TestBuild:
    async def test_first_build_pays_the_first_month_once(
        self, client: httpx.AsyncClient, session: AsyncSession, customer: Customer
    ):
        voice = await create_voice(client, customer)
        await add_recording(client, customer, voice["uuid"])
        before = await balance(session, customer.user.id)

        response = await build(client, customer, voice["uuid"])
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["billing"]["unit"] == "voice_months"
        assert Decimal(body["billing"]["quantity"]) == 1
        assert Decimal(body["billing"]["charged"]) == MONTH_RAPID
        assert body["subscription"]["current_period_start"] is not None
        assert body["subscription"]["paid_through"] == body["subscription"]["current_period_end"]
        assert await balance(session, customer.user.id) == before - MONTH_RAPID

        await wait_built(client, customer, voice["uuid"])
        again = await build(client, customer, voice["uuid"])
        assert again.status_code == 200, again.text
        assert again.json()["billing"] is None  # a rebuild within a paid month is free
        assert await balance(session, customer.user.id) == before - MONTH_RAPID
        months = await session.scalar(select(func.count()).select_from(ProviderResembleVoiceSubscription))
        usages = await session.scalar(
            select(func.count())
            .select_from(ProviderResembleUsage)
            .where(ProviderResembleUsage.capability == "voice_subscriptions")
        )
        assert (months, usages) == (1, 1)

    async def test_concurrent_builds_pay_the_month_once(
        self, client: httpx.AsyncClient, session: AsyncSession, customer: Customer
    ):
        voice = await create_voice(client, customer)
        await add_recording(client, customer, voice["uuid"])
        before = await balance(session, customer.user.id)
        answers = await asyncio.gather(*(build(client, customer, voice["uuid"]) for _ in range(4)))
        assert all(answer.status_code in (200, 400) for answer in answers), [a.text for a in answers]
        assert any(answer.status_code == 200 for answer in answers)
        assert await balance(session, customer.user.id) == before - MONTH_RAPID
        assert await session.scalar(select(func.count()).select_from(ProviderResembleVoiceSubscription)) == 1
        held = await session.scalar(select(func.count()).select_from(CreditHold).where(CreditHold.status == "held"))
        assert held == 0

    async def test_a_finished_build_keeps_the_model_under_voice_models(
        self, client: httpx.AsyncClient, session: AsyncSession, customer: Customer, app: FastAPI
    ):
        storage = app.state.resources.storage
        voice = await create_voice(client, customer)
        await add_recording(client, customer, voice["uuid"])
        assert (await build(client, customer, voice["uuid"])).status_code == 200
        item = await wait_built(client, customer, voice["uuid"])
        assert item["subscription"]["build_status"] == "built"
        row = await session.scalar(
            select(ProviderResembleVoice)
            .join(ProviderResembleResource, ProviderResembleResource.id == ProviderResembleVoice.resource_id)
            .where(ProviderResembleResource.upstream_id == voice["uuid"])
        )
        assert row is not None
        assert row.model_asset_id is not None
        asset = await session.get(ProviderResembleAsset, row.model_asset_id)
        assert asset is not None
        assert asset.storage_key.startswith(f"voice-models/{customer.user.id}/")
        assert asset.expires_at is None  # permanent
        stored = await storage.get_bytes(asset.storage_key)
        assert json.loads(stored)["uuid"] == voice["uuid"]

    async def test_an_upstream_refusal_charges_nothing(
        self, client: httpx.AsyncClient, session: AsyncSession, customer: Customer
    ):
        voice = await create_voice(client, customer)  # no recording: Resemble refuses to build
        before = await balance(session, customer.user.id)
        response = await build(client, customer, voice["uuid"])
        assert response.status_code in (400, 422), response.text
        assert await balance(session, customer.user.id) == before
        open_holds = await session.scalar(
            select(func.count()).select_from(CreditHold).where(CreditHold.status == "held")
        )
        assert open_holds == 0
        assert await session.scalar(select(func.count()).select_from(ProviderResembleVoiceSubscription)) == 0

    async def test_an_upstream_outage_is_502_and_releases_the_hold(
        self, client: httpx.AsyncClient, session: AsyncSession, customer: Customer, simulator: httpx.AsyncClient
    ):
        voice = await create_voice(client, customer)
        await add_recording(client, customer, voice["uuid"])
        before = await balance(session, customer.user.id)
        fault = {"path": f"/api/v2/voices/{voice['uuid']}/build", "status": 500, "count": 1}
        assert (await simulator.post("/_sim/faults", json=fault)).status_code in (200, 201)
        response = await build(client, customer, voice["uuid"])
        assert response.status_code == 502
        assert await balance(session, customer.user.id) == before

    async def test_not_enough_credit_for_the_first_month_is_402_before_upstream(
        self, client: httpx.AsyncClient, session: AsyncSession, simulator: httpx.AsyncClient
    ):
        from tests.factories import create_customer

        poor = await create_customer(session, credits="1.00")
        voice = await create_voice(client, poor)
        await add_recording(client, poor, voice["uuid"])
        response = await build(client, poor, voice["uuid"])
        assert response.status_code == 402
        assert [r for r in await upstream_requests(simulator, "/build")] == []

    async def test_recording_ids_select_the_recordings_and_must_be_the_voices(
        self, client: httpx.AsyncClient, customer: Customer, other: Customer, simulator: httpx.AsyncClient
    ):
        voice = await create_voice(client, customer)
        first = (await add_recording(client, customer, voice["uuid"], name="one"))["item"]["uuid"]
        second = (await add_recording(client, customer, voice["uuid"], name="two"))["item"]["uuid"]
        elsewhere = await create_voice(client, other)
        foreign = (await add_recording(client, other, elsewhere["uuid"], name="x"))["item"]["uuid"]

        refused = await build(client, customer, voice["uuid"], recording_ids=[first, foreign])
        assert refused.status_code == 404
        assert await upstream_requests(simulator, "/build") == []

        response = await build(client, customer, voice["uuid"], recording_ids=[second])
        assert response.status_code == 200, response.text
        listing = (await client.get(f"{VOICES}/{voice['uuid']}/recordings", headers=customer.headers)).json()
        active = {item["uuid"]: item["is_active"] for item in listing["items"]}
        assert active == {first: False, second: True}


class TestIsolation:
    async def test_another_users_voice_is_404_everywhere_and_never_reaches_upstream(
        self, client: httpx.AsyncClient, customer: Customer, other: Customer, simulator: httpx.AsyncClient
    ):
        voice = await create_voice(client, customer)
        recording = (await add_recording(client, customer, voice["uuid"]))["item"]["uuid"]
        await simulator.delete("/_sim/requests")
        base = f"{VOICES}/{voice['uuid']}"
        attempts = [
            ("GET", base, None),
            ("POST", f"{base}/build", {}),
            ("DELETE", base, None),
            ("GET", f"{base}/recordings", None),
            ("POST", f"{base}/recordings", {"fields": {"url": "https://example.com/a.wav", "name": "n", "text": "t"}}),
            ("GET", f"{base}/recordings/{recording}", None),
            ("PUT", f"{base}/recordings/{recording}", {"fields": {"name": "mine now"}}),
            ("DELETE", f"{base}/recordings/{recording}", None),
        ]
        for method, path, body in attempts:
            response = await client.request(method, path, json=body, headers=other.headers)
            assert response.status_code == 404, (method, path, response.text)
        assert await upstream_requests(simulator, voice["uuid"]) == []
        # ...and the owner still has everything.
        assert (await client.get(f"{base}/recordings/{recording}", headers=customer.headers)).status_code == 200


class TestDelete:
    async def test_delete_retires_the_voice_and_its_recordings(
        self, client: httpx.AsyncClient, session: AsyncSession, customer: Customer
    ):
        voice = await create_voice(client, customer)
        recording = await add_recording(client, customer, voice["uuid"])
        response = await client.delete(f"{VOICES}/{voice['uuid']}", headers=customer.headers)
        assert response.status_code == 200, response.text
        assert response.json() == {"success": True, "uuid": voice["uuid"]}
        assert (await client.get(f"{VOICES}/{voice['uuid']}", headers=customer.headers)).status_code == 404
        rows = (await session.scalars(select(ProviderResembleResource.deleted_at))).all()
        assert rows
        assert all(deleted is not None for deleted in rows)
        # The recording's audio is an identity asset: it stays (permanent) until the user's data is erased.
        assert await download(client, recording["stored_audio"]["audio_url"])


@pytest.fixture
async def closed(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    application = create_app(settings.model_copy(update={"resemble_business_plan_active": False}))
    async with application.router.lifespan_context(application):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://testserver"
        ) as http:
            yield http, application
        await services.truncate_all(application.state.resources.engine)


class TestGate:
    async def test_gated_routes_answer_503_business_plan_without_upstream_or_charge(
        self, closed: tuple[httpx.AsyncClient, FastAPI], session: AsyncSession
    ):
        from tests.factories import create_customer

        client, application = closed
        customer = await create_customer(session, credits="20.00")
        sim = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application.state.resources.simulator), base_url="http://sim"
        )
        gated = [
            ("POST", VOICES, {"name": "Ada", "consent_text": CONSENT}),
            ("POST", f"{VOICES}/abc123/build", {}),
            ("DELETE", f"{VOICES}/abc123", None),
            ("POST", "/api/v1/resemble/voice-design/candidates", {"description": "a calm voice"}),
            ("POST", "/api/v1/resemble/voice-design/abc123/promote", {"candidate_index": 0, "name": "x"}),
        ]
        for method, path, body in gated:
            response = await client.request(method, path, json=body, headers=customer.headers)
            assert response.status_code == 503, (path, response.text)
            assert "business-plan" in response.json()["detail"].lower()
        assert (await sim.get("/_sim/requests")).json() == []
        assert await balance(session, customer.user.id) == Decimal("20")
        # Reading is not gated.
        assert (await client.get(VOICES, headers=customer.headers)).status_code == 200
