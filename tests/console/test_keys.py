from __future__ import annotations

import re

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.console.helpers import sign_in
from tests.factories import create_customer

KEYS = "/api/v1/user/keys"
NEW_KEY = re.compile(r'data-testid="new-key">([^<]+)<')


class TestKeysApi:
    async def test_list_create_and_revoke(self, client: httpx.AsyncClient, session: AsyncSession):
        customer = await create_customer(session)
        (first,) = (await client.get(KEYS, headers=customer.headers)).json()["items"]
        assert first["revoked_at"] is None
        assert "api_key" not in first
        assert "key_hash" not in first

        created = await client.post(KEYS, json={"name": "ci"}, headers=customer.headers)
        assert created.status_code == 201
        new = created.json()
        assert new["name"] == "ci"
        assert new["api_key"].startswith("vg_")
        listed = (await client.get(KEYS, headers=customer.headers)).json()["items"]
        assert [key["id"] for key in listed] == [new["id"], first["id"]]  # newest first
        assert all("api_key" not in key for key in listed)

        new_headers = {"Authorization": f"Bearer {new['api_key']}"}
        assert (await client.get("/api/v1/user/usage", headers=new_headers)).status_code == 200
        revoked = await client.delete(f"{KEYS}/{new['id']}", headers=customer.headers)
        assert revoked.status_code == 200
        assert revoked.json()["revoked_at"] is not None
        assert (await client.get("/api/v1/user/usage", headers=new_headers)).status_code == 401

    async def test_another_users_key_is_not_found(self, client: httpx.AsyncClient, session: AsyncSession):
        owner = await create_customer(session)
        (key,) = (await client.get(KEYS, headers=owner.headers)).json()["items"]
        intruder = await create_customer(session)
        answer = await client.delete(f"{KEYS}/{key['id']}", headers=intruder.headers)
        assert answer.status_code == 404
        assert answer.json() == {"detail": "API key not found"}
        assert key["id"] not in str((await client.get(KEYS, headers=intruder.headers)).json()["items"])
        assert (await client.get("/api/v1/user/usage", headers=owner.headers)).status_code == 200

    async def test_a_bad_name_is_422(self, client: httpx.AsyncClient, session: AsyncSession):
        customer = await create_customer(session)
        for body in ({"name": ""}, {"name": "x" * 101}, {"name": "ok", "extra": 1}):
            answer = await client.post(KEYS, json=body, headers=customer.headers)
            assert answer.status_code == 422, body
        assert (await client.post(KEYS, headers=customer.headers)).json()["name"] == "default"


class TestKeysPage:
    async def test_create_shows_the_key_once_and_it_authenticates(
        self, client: httpx.AsyncClient, session: AsyncSession
    ):
        customer = await create_customer(session)
        token = await sign_in(client, customer.api_key)
        page = await client.get("/console/keys")
        assert page.status_code == 200
        assert 'data-testid="new-key"' not in page.text

        created = await client.post("/console/keys", data={"name": "laptop", "csrf_token": token})
        assert created.status_code == 201
        plaintext = NEW_KEY.search(created.text).group(1)  # type: ignore[union-attr]
        assert "laptop" in created.text
        again = await client.get("/console/keys")
        assert plaintext not in again.text
        assert 'data-testid="new-key"' not in again.text

        usage = await client.get("/api/v1/user/usage", headers={"Authorization": f"Bearer {plaintext}"})
        assert usage.status_code == 200
        assert usage.json()["user_id"] == customer.user.id

    async def test_revoke_makes_the_key_401(self, client: httpx.AsyncClient, session: AsyncSession):
        customer = await create_customer(session)
        token = await sign_in(client, customer.api_key)
        created = (await client.post(KEYS, json={"name": "spare"}, headers=customer.headers)).json()
        refused = await client.post(f"/console/keys/{created['id']}/revoke", data={})
        assert refused.status_code == 403
        answer = await client.post(f"/console/keys/{created['id']}/revoke", data={"csrf_token": token})
        assert answer.status_code == 303
        assert answer.headers["location"] == "/console/keys"
        page = await client.get("/console/keys")
        assert f'data-testid="revoked-{created["id"]}"' in page.text
        spare = {"Authorization": f"Bearer {created['api_key']}"}
        assert (await client.get("/api/v1/user/usage", headers=spare)).status_code == 401

    async def test_another_users_key_is_a_404_page(self, client: httpx.AsyncClient, session: AsyncSession):
        owner = await create_customer(session)
        (key,) = (await client.get(KEYS, headers=owner.headers)).json()["items"]
        intruder = await create_customer(session)
        token = await sign_in(client, intruder.api_key)
        answer = await client.post(f"/console/keys/{key['id']}/revoke", data={"csrf_token": token})
        assert answer.status_code == 404
        assert answer.headers["content-type"].startswith("text/html")
        page = await client.get("/console/keys")
        assert key["id"] not in page.text
        assert key["prefix"] not in page.text
        assert (await client.get("/api/v1/user/usage", headers=owner.headers)).status_code == 200

    async def test_an_overlong_name_is_a_400_page(self, client: httpx.AsyncClient, session: AsyncSession):
        customer = await create_customer(session)
        token = await sign_in(client, customer.api_key)
        answer = await client.post("/console/keys", data={"name": "x" * 101, "csrf_token": token})
        assert answer.status_code == 400
        assert "new-key" not in answer.text
