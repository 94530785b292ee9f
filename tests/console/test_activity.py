from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.console.helpers import sign_in, synthesize
from tests.factories import create_customer, create_job
from voicegate.console.security import content_security_policy, origin_of
from voicegate.user.service import ACTIVITY_PAGE_SIZE

ACTIVITY = "/api/v1/user/activity"


class TestActivityApi:
    async def test_rows_carry_their_billing_and_media(self, client: httpx.AsyncClient, session: AsyncSession):
        customer = await create_customer(session)
        billed = (await synthesize(client, customer.headers)).json()
        listing = (await client.get(ACTIVITY, headers=customer.headers)).json()
        (item,) = listing["items"]
        assert item["request_id"] == billed["request_id"]
        assert item["billing"]["charged_usd"] == billed["billing"]["charged"]
        assert item["billing"]["unit"] == billed["billing"]["unit"]
        for ours, theirs in [
            ("quantity", "quantity"),
            ("provider_cost_usd", "provider_cost"),
            ("markup_pct", "markup_pct"),
        ]:
            assert item["billing"][ours] == billed["billing"][theirs]
        assert item["media"]["url"]
        assert item["media"]["content_type"].startswith("audio/")
        assert (listing["page"], listing["has_more"]) == (1, False)
        detail = await client.get(f"{ACTIVITY}/{billed['request_id']}", headers=customer.headers)
        assert detail.json()["billing"] == item["billing"]

    async def test_filters_and_pages(self, client: httpx.AsyncClient, session: AsyncSession):
        customer = await create_customer(session)
        await synthesize(client, customer.headers)
        for n in range(ACTIVITY_PAGE_SIZE):
            await create_job(session, customer.user.id, upstream_id=f"up-{n}")
        first = (await client.get(ACTIVITY, headers=customer.headers)).json()
        assert len(first["items"]) == ACTIVITY_PAGE_SIZE
        assert first["has_more"]
        second = (await client.get(f"{ACTIVITY}?page=2", headers=customer.headers)).json()
        (oldest,) = second["items"]
        assert oldest["capability"] == "tts"
        assert not second["has_more"]
        tts = (await client.get(f"{ACTIVITY}?capability=tts", headers=customer.headers)).json()
        assert [i["capability"] for i in tts["items"]] == ["tts"]
        pending = (await client.get(f"{ACTIVITY}?status=pending&capability=tts", headers=customer.headers)).json()
        assert pending["items"] == []

    async def test_another_users_request_is_not_found(self, client: httpx.AsyncClient, session: AsyncSession):
        owner = await create_customer(session)
        billed = (await synthesize(client, owner.headers)).json()
        intruder = await create_customer(session)
        answer = await client.get(f"{ACTIVITY}/{billed['request_id']}", headers=intruder.headers)
        assert answer.status_code == 404
        assert (await client.get(ACTIVITY, headers=intruder.headers)).json()["items"] == []

    @pytest.mark.parametrize(
        "query", ["page=0", "page=-1", "page=abc", "capability=" + "x" * 33, "status=%00", "capability=<b>"]
    )
    async def test_bad_query_is_422(self, client: httpx.AsyncClient, session: AsyncSession, query: str):
        customer = await create_customer(session)
        assert (await client.get(f"{ACTIVITY}?{query}", headers=customer.headers)).status_code == 422


class TestActivityPage:
    async def test_the_page_shows_the_breakdown_and_plays_the_audio(
        self, client: httpx.AsyncClient, session: AsyncSession
    ):
        customer = await create_customer(session)
        billed = (await synthesize(client, customer.headers)).json()
        await sign_in(client, customer.api_key)
        page = await client.get("/console/activity")
        assert page.status_code == 200
        request_id = billed["request_id"]
        assert f'data-testid="activity-row-{request_id}"' in page.text
        assert f'data-testid="charged-{request_id}">${billed["billing"]["charged"]}<' in page.text
        audio = re.search(rf'<audio controls preload="none" src="([^"]+)" data-testid="audio-{request_id}"', page.text)
        assert audio
        url = audio.group(1).replace("&amp;", "&")
        if url.startswith(("/", "http://testserver/")):  # local storage: a signed link served by the gateway
            played = await client.get(url)
        else:  # S3: a presigned link to the bucket
            async with httpx.AsyncClient() as bucket:
                played = await bucket.get(url)
        assert played.status_code == 200
        assert played.content
        origin = origin_of(url)
        policy = page.headers["content-security-policy"]
        assert policy.startswith("default-src 'self'")
        assert origin is None or origin == "http://testserver" or f"media-src 'self' {origin}" in policy
        detail = await client.get(f"/console/activity/{request_id}")
        assert f'data-testid="detail-charged">${billed["billing"]["charged"]}<' in detail.text

    async def test_pagination_links_keep_the_filters(self, client: httpx.AsyncClient, session: AsyncSession):
        customer = await create_customer(session)
        for n in range(ACTIVITY_PAGE_SIZE + 1):
            await create_job(session, customer.user.id, upstream_id=f"up-{n}")
        await sign_in(client, customer.api_key)
        page = await client.get("/console/activity?capability=stt")
        assert 'href="/console/activity?capability=stt&amp;page=2" data-testid="page-next"' in page.text
        second = await client.get("/console/activity?capability=stt&page=2")
        assert 'data-testid="page-prev"' in second.text
        assert 'data-testid="page-next"' not in second.text

    async def test_isolation_on_the_page(self, client: httpx.AsyncClient, session: AsyncSession):
        owner = await create_customer(session)
        billed = (await synthesize(client, owner.headers)).json()
        intruder = await create_customer(session)
        await sign_in(client, intruder.api_key)
        assert billed["request_id"] not in (await client.get("/console/activity")).text
        answer = await client.get(f"/console/activity/{billed['request_id']}")
        assert answer.status_code == 404
        assert answer.headers["content-type"].startswith("text/html")

    @pytest.mark.parametrize("query", ["page=-1", "page=abc", "capability=<script>alert(1)</script>", "status=%00"])
    async def test_junk_is_never_a_500(self, client: httpx.AsyncClient, session: AsyncSession, query: str):
        customer = await create_customer(session)
        await sign_in(client, customer.api_key)
        answer = await client.get(f"/console/activity?{query}")
        assert answer.status_code in (200, 400)
        assert "<script>alert" not in answer.text


def test_media_from_another_origin_is_allowed_exactly():
    policy = content_security_policy(["https://bucket.s3.example.com/a.mp3?X-Amz-Signature=1", "/files/x?sig=1"])
    assert policy.startswith("default-src 'self'")
    assert policy.endswith("; media-src 'self' https://bucket.s3.example.com")
    assert content_security_policy(["/files/x", "javascript:alert(1)"]) == content_security_policy()
