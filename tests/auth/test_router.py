from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import create_customer
from voicegate.admin import service as admin_service
from voicegate.auth.tokens import issue_access_token
from voicegate.config import Settings
from voicegate.kit.time import utc_now

PROTECTED = "/api/v1/user/usage"


class TestApiKeyExchange:
    async def test_returns_token_and_sets_http_only_cookie(self, client: httpx.AsyncClient, session: AsyncSession):
        customer = await create_customer(session)
        response = await client.post("/api/v1/auth/api-key", headers={"X-API-Key": customer.api_key})
        assert response.status_code == 200
        body = response.json()
        assert body["token_type"] == "bearer"
        assert body["expires_in"] > 0
        assert "httponly" in response.headers["set-cookie"].lower()
        usage = await client.get(PROTECTED, headers={"Authorization": f"Bearer {body['access_token']}"})
        assert usage.status_code == 200
        assert usage.json()["user_id"] == customer.user.id

    async def test_unknown_key_is_401(self, client: httpx.AsyncClient):
        response = await client.post("/api/v1/auth/api-key", headers={"X-API-Key": "vg_000000000000_nope"})
        assert response.status_code == 401
        assert response.json()["detail"] == "Invalid API key"

    async def test_missing_header_is_401(self, client: httpx.AsyncClient):
        response = await client.post("/api/v1/auth/api-key")
        assert response.status_code == 401
        assert "X-API-Key" in response.json()["detail"]


class TestFormToken:
    async def test_key_as_password(self, client: httpx.AsyncClient, session: AsyncSession):
        customer = await create_customer(session)
        response = await client.post(
            "/api/v1/auth/token", data={"username": "pip_client", "password": customer.api_key}
        )
        assert response.status_code == 200
        assert response.json()["access_token"]

    async def test_wrong_key_is_401(self, client: httpx.AsyncClient):
        response = await client.post("/api/v1/auth/token", data={"username": "x", "password": "y"})
        assert response.status_code == 401


class TestProtectedRoutes:
    async def test_no_credentials_is_401(self, client: httpx.AsyncClient):
        response = await client.get(PROTECTED)
        assert response.status_code == 401
        assert "Not authenticated" in response.json()["detail"]

    async def test_malformed_header_is_401(self, client: httpx.AsyncClient):
        response = await client.get(PROTECTED, headers={"Authorization": "Basic dXNlcjpwYXNz"})
        assert response.status_code == 401
        assert "Malformed" in response.json()["detail"]

    async def test_garbage_token_is_401(self, client: httpx.AsyncClient):
        response = await client.get(PROTECTED, headers={"Authorization": "Bearer not-a-token"})
        assert response.status_code == 401
        assert response.json()["detail"] == "Invalid access token"

    async def test_api_key_works_as_bearer(self, client: httpx.AsyncClient, session: AsyncSession):
        customer = await create_customer(session)
        assert (await client.get(PROTECTED, headers=customer.headers)).status_code == 200

    async def test_cookie_works(self, client: httpx.AsyncClient, session: AsyncSession):
        customer = await create_customer(session)
        await client.post("/api/v1/auth/api-key", headers={"X-API-Key": customer.api_key})
        assert (await client.get(PROTECTED)).status_code == 200
        client.cookies.clear()

    async def test_expired_token_is_401(self, client: httpx.AsyncClient, session: AsyncSession, settings: Settings):
        customer = await create_customer(session)
        keys = await admin_service.list_keys(session, customer.user.id)
        token = issue_access_token(
            user_id=customer.user.id,
            key_id=keys[0].id,
            secret=settings.signing_secret,
            now=utc_now() - timedelta(hours=2),
            ttl=timedelta(hours=1),
        )
        response = await client.get(PROTECTED, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
        assert response.json()["detail"] == "Access token expired"

    async def test_token_signed_with_another_secret_is_401(self, client: httpx.AsyncClient, session: AsyncSession):
        customer = await create_customer(session)
        keys = await admin_service.list_keys(session, customer.user.id)
        token = issue_access_token(
            user_id=customer.user.id,
            key_id=keys[0].id,
            secret="y" * 48,
            now=utc_now(),
            ttl=timedelta(hours=1),
        )
        response = await client.get(PROTECTED, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401

    async def test_revoked_key_and_its_tokens_are_401(self, client: httpx.AsyncClient, session: AsyncSession):
        customer = await create_customer(session)
        token = (await client.post("/api/v1/auth/api-key", headers={"X-API-Key": customer.api_key})).json()
        client.cookies.clear()
        keys = await admin_service.list_keys(session, customer.user.id)
        await admin_service.revoke_key(session, keys[0].id)
        await session.commit()
        by_key = await client.get(PROTECTED, headers=customer.headers)
        by_token = await client.get(PROTECTED, headers={"Authorization": f"Bearer {token['access_token']}"})
        assert (by_key.status_code, by_token.status_code) == (401, 401)
        assert by_key.json()["detail"] == "API key has been revoked"
        exchange = await client.post("/api/v1/auth/api-key", headers={"X-API-Key": customer.api_key})
        assert exchange.status_code == 401
