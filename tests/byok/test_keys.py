"""`PUT/GET/DELETE /api/v1/user/byok/resemble`: checked with Resemble before it is kept, encrypted at rest, never
shown again but for its last four characters."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import ADMIN_HEADERS, Customer
from voicegate.byok.crypto import KeyCipher, UnreadableKey
from voicegate.config import Settings
from voicegate.db.models import UserProviderKey

from .conftest import ACCOUNT_B, ACCOUNT_B_KEY, BYOK, ENCRYPTION_KEY, SHARED, gateway, requests_of, store_key


async def stored_rows(session: AsyncSession, customer: Customer) -> list[UserProviderKey]:
    rows = await session.scalars(select(UserProviderKey).where(UserProviderKey.user_id == customer.user.id))
    return list(rows)


class TestPut:
    async def test_a_valid_key_is_checked_with_its_account_and_shown_by_last4_only(
        self, client: httpx.AsyncClient, simulator: httpx.AsyncClient, customer: Customer
    ):
        await simulator.delete("/_sim/requests")
        response = await client.put(BYOK, json={"api_key": ACCOUNT_B_KEY}, headers=customer.headers)

        assert response.status_code == 200, response.text
        body = response.json()
        assert body["provider"] == "resemble"
        assert body["last4"] == "0001"
        assert body["created_at"]
        assert body["validated_at"]
        assert ACCOUNT_B_KEY not in response.text
        [check] = await requests_of(simulator, ACCOUNT_B)
        assert (check["method"], check["path"], check["status"]) == ("GET", "/api/v2/voices", 200)
        assert check["account_last4"] == "0001"
        assert check["headers"]["authorization"] == "Bearer <redacted>"
        assert await requests_of(simulator, SHARED) == []

        shown = await client.get(BYOK, headers=customer.headers)
        assert shown.status_code == 200
        assert shown.json() == body
        assert ACCOUNT_B_KEY not in shown.text

    async def test_a_wrong_key_is_refused_and_nothing_is_stored(
        self, client: httpx.AsyncClient, session: AsyncSession, customer: Customer
    ):
        wrong = "rsm-not-a-real-key-9999"
        response = await client.put(BYOK, json={"api_key": wrong}, headers=customer.headers)

        assert response.status_code == 422
        assert response.json()["detail"] == "Resemble rejected this API key"
        assert wrong not in response.text
        assert await stored_rows(session, customer) == []
        assert (await client.get(BYOK, headers=customer.headers)).status_code == 404

    async def test_resemble_down_is_502_and_nothing_is_stored(
        self, client: httpx.AsyncClient, simulator: httpx.AsyncClient, session: AsyncSession, customer: Customer
    ):
        await simulator.post("/_sim/faults", json={"path": "voices", "status": 500, "count": -1})
        response = await client.put(BYOK, json={"api_key": ACCOUNT_B_KEY}, headers=customer.headers)

        assert response.status_code == 502, response.text
        assert await stored_rows(session, customer) == []

    @pytest.mark.parametrize(
        "body", [{}, {"api_key": "short"}, {"api_key": "has spaces in it"}, {"api_key": 12345678}, {"key": "x" * 20}]
    )
    async def test_bad_input_is_422_and_changes_nothing(
        self, client: httpx.AsyncClient, session: AsyncSession, customer: Customer, body: dict[str, object]
    ):
        response = await client.put(BYOK, json=body, headers=customer.headers)

        assert response.status_code == 422
        assert await stored_rows(session, customer) == []

    async def test_a_second_put_replaces_the_first(
        self, client: httpx.AsyncClient, session: AsyncSession, customer: Customer
    ):
        await store_key(client, customer)
        await store_key(client, customer)
        assert len(await stored_rows(session, customer)) == 1

    async def test_without_an_encryption_key_the_feature_is_off(self, settings: Settings, customer: Customer):
        async with gateway(settings.model_copy(update={"byok_encryption_key": None})) as (_, client, sim):
            response = await client.put(BYOK, json={"api_key": ACCOUNT_B_KEY}, headers=customer.headers)

            assert response.status_code == 400
            assert response.json()["detail"] == "bring-your-own-key is not enabled on this gateway"
            assert await requests_of(sim, ACCOUNT_B) == []  # not even checked

    @pytest.mark.parametrize("bad", ["not base64 !", "c2hvcnQ=", ENCRYPTION_KEY + ENCRYPTION_KEY])
    def test_an_invalid_encryption_key_stops_startup(self, settings: Settings, bad: str):
        with pytest.raises(ValidationError, match="BYOK_ENCRYPTION_KEY must be urlsafe base64 of exactly 32 bytes"):
            Settings(_env_file=None, byok_encryption_key=bad)  # type: ignore[call-arg]


class TestAtRest:
    async def test_the_database_holds_no_readable_key(
        self, client: httpx.AsyncClient, app: FastAPI, byok_customer: Customer
    ):
        async with app.state.resources.engine.connect() as connection:
            row = (
                await connection.execute(
                    text("SELECT ciphertext, nonce, last4, fingerprint FROM user_provider_keys WHERE user_id = :u"),
                    {"u": byok_customer.user.id},
                )
            ).one()
        ciphertext, nonce = bytes(row.ciphertext), bytes(row.nonce)

        assert ACCOUNT_B_KEY.encode() not in ciphertext
        assert ACCOUNT_B_KEY[:-4].encode() not in ciphertext
        assert ACCOUNT_B_KEY not in row.fingerprint
        assert len(nonce) == 12
        assert row.last4 == "0001"
        cipher = KeyCipher.from_setting(ENCRYPTION_KEY)
        assert cipher.decrypt(ciphertext, nonce, byok_customer.user.id) == ACCOUNT_B_KEY
        with pytest.raises(UnreadableKey):
            cipher.decrypt(ciphertext, nonce, "another-user-id")  # the user id is the associated data
        with pytest.raises(UnreadableKey):
            KeyCipher(bytes(32)).decrypt(ciphertext, nonce, byok_customer.user.id)


class TestDelete:
    async def test_delete_removes_the_key(self, client: httpx.AsyncClient, byok_customer: Customer):
        response = await client.delete(BYOK, headers=byok_customer.headers)

        assert response.status_code == 204
        assert (await client.get(BYOK, headers=byok_customer.headers)).status_code == 404
        assert (await client.delete(BYOK, headers=byok_customer.headers)).status_code == 404

    async def test_erasing_the_user_removes_their_key(
        self, client: httpx.AsyncClient, session: AsyncSession, byok_customer: Customer
    ):
        response = await client.delete(f"/api/v1/admin/users/{byok_customer.user.id}", headers=ADMIN_HEADERS)

        assert response.status_code == 200, response.text
        assert await stored_rows(session, byok_customer) == []

    async def test_the_routes_need_a_user(self, client: httpx.AsyncClient):
        for method in ("GET", "PUT", "DELETE"):
            response = await client.request(method, BYOK, json={"api_key": ACCOUNT_B_KEY})
            assert response.status_code == 401
