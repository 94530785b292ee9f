from __future__ import annotations

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from voicegate.db.models import LedgerEntry

ADMIN = {"Authorization": "Bearer test-admin-key"}


async def _create(client: httpx.AsyncClient, email: str = "a@example.com", credits: str = "5") -> dict:
    response = await client.post("/api/v1/admin/users", json={"email": email, "credits_usd": credits}, headers=ADMIN)
    assert response.status_code == 201, response.text
    return response.json()


class TestAdminAuth:
    async def test_missing_admin_key_is_401(self, client: httpx.AsyncClient):
        response = await client.post("/api/v1/admin/users", json={"email": "a@example.com"})
        assert response.status_code == 401

    async def test_wrong_admin_key_is_401(self, client: httpx.AsyncClient):
        response = await client.get("/api/v1/admin/users/x", headers={"Authorization": "Bearer nope"})
        assert response.status_code == 401
        assert response.json()["detail"] == "Invalid admin API key"

    async def test_user_api_key_is_not_admin(self, client: httpx.AsyncClient):
        created = await _create(client)
        response = await client.get(
            f"/api/v1/admin/users/{created['id']}", headers={"Authorization": f"Bearer {created['api_key']}"}
        )
        assert response.status_code == 401


class TestUsers:
    async def test_create_returns_key_once_and_it_works(self, client: httpx.AsyncClient):
        created = await _create(client, credits="12.5")
        assert created["credits_usd"] == "12.500000"
        assert created["api_key"].startswith("vg_")
        usage = await client.get("/api/v1/user/usage", headers={"Authorization": f"Bearer {created['api_key']}"})
        assert usage.json()["credits_usd"] == "12.500000"
        shown = await client.get(f"/api/v1/admin/users/{created['id']}", headers=ADMIN)
        assert "api_key" not in shown.text.replace('"keys"', "")
        assert shown.json()["keys"][0]["prefix"] in created["api_key"]

    async def test_duplicate_email_is_409(self, client: httpx.AsyncClient):
        await _create(client, email="dup@example.com")
        response = await client.post("/api/v1/admin/users", json={"email": "DUP@example.com"}, headers=ADMIN)
        assert response.status_code == 409

    async def test_bad_input_is_422(self, client: httpx.AsyncClient):
        for body in ({"email": "not-an-email"}, {"email": "b@example.com", "credits_usd": "-1"}, {}):
            response = await client.post("/api/v1/admin/users", json=body, headers=ADMIN)
            assert response.status_code == 422, body

    async def test_unknown_user_is_404(self, client: httpx.AsyncClient):
        assert (await client.get("/api/v1/admin/users/nope", headers=ADMIN)).status_code == 404


class TestCredits:
    async def test_grant_and_correction(self, client: httpx.AsyncClient, session: AsyncSession):
        created = await _create(client, credits="5")
        url = f"/api/v1/admin/users/{created['id']}/credits"
        assert (await client.post(url, json={"amount_usd": "2.25"}, headers=ADMIN)).json()["credits_usd"] == "7.250000"
        assert (await client.post(url, json={"amount_usd": "-7"}, headers=ADMIN)).json()["credits_usd"] == "0.250000"
        entries = await session.scalar(
            select(func.count()).select_from(LedgerEntry).where(LedgerEntry.user_id == created["id"])
        )
        assert entries == 3

    async def test_correction_below_zero_is_refused_and_changes_nothing(self, client: httpx.AsyncClient):
        created = await _create(client, credits="1")
        url = f"/api/v1/admin/users/{created['id']}/credits"
        response = await client.post(url, json={"amount_usd": "-1.000001"}, headers=ADMIN)
        assert response.status_code == 422
        assert "below zero" in response.json()["detail"]
        shown = await client.get(f"/api/v1/admin/users/{created['id']}", headers=ADMIN)
        assert shown.json()["credits_usd"] == "1.000000"

    async def test_zero_and_unknown_user(self, client: httpx.AsyncClient):
        created = await _create(client)
        zero = await client.post(
            f"/api/v1/admin/users/{created['id']}/credits", json={"amount_usd": "0"}, headers=ADMIN
        )
        assert zero.status_code == 422
        unknown = await client.post("/api/v1/admin/users/nope/credits", json={"amount_usd": "1"}, headers=ADMIN)
        assert unknown.status_code == 404


class TestKeys:
    async def test_issue_and_revoke(self, client: httpx.AsyncClient):
        created = await _create(client)
        issued = await client.post(f"/api/v1/admin/users/{created['id']}/keys", json={"name": "ci"}, headers=ADMIN)
        assert issued.status_code == 201
        key = issued.json()
        headers = {"Authorization": f"Bearer {key['api_key']}"}
        assert (await client.get("/api/v1/user/usage", headers=headers)).status_code == 200
        revoked = await client.delete(f"/api/v1/admin/users/{created['id']}/keys/{key['id']}", headers=ADMIN)
        assert revoked.json()["revoked_at"] is not None
        assert (await client.get("/api/v1/user/usage", headers=headers)).status_code == 401
        other = await client.get("/api/v1/user/usage", headers={"Authorization": f"Bearer {created['api_key']}"})
        assert other.status_code == 200

    async def test_revoking_another_users_key_is_404(self, client: httpx.AsyncClient):
        first = await _create(client, email="first@example.com")
        second = await _create(client, email="second@example.com")
        shown = await client.get(f"/api/v1/admin/users/{first['id']}", headers=ADMIN)
        key_id = shown.json()["keys"][0]["id"]
        response = await client.delete(f"/api/v1/admin/users/{second['id']}/keys/{key_id}", headers=ADMIN)
        assert response.status_code == 404
