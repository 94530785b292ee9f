"""The admin settings API: reading, changing and auditing runtime settings, and who may do it."""

from __future__ import annotations

import httpx
import pytest

from tests.factories import ADMIN_HEADERS, create_customer
from voicegate.config import Settings

from .conftest import CHANGES, SETTINGS, Gateway, app_of, put_settings, setting


class TestReading:
    async def test_an_unset_setting_comes_from_the_environment(self, gateway: Gateway) -> None:
        async with gateway(resemble_business_plan_active=True) as client:
            item = await setting(client)
        assert item == {
            "name": "business_plan_active",
            "value": True,
            "default": True,
            "source": "env",
            "type": "boolean",
            "env_var": "RESEMBLE_BUSINESS_PLAN_ACTIVE",
            "description": item["description"],
            "updated_at": None,
            "updated_by": None,
        }

    async def test_a_stored_value_says_who_set_it_and_when(self, gateway: Gateway) -> None:
        async with gateway() as client:
            response = await put_settings(client, {"business_plan_active": True}, **{"X-Admin-Actor": "ops.alice"})
            assert response.status_code == 200, response.text
            item = await setting(client)
        assert (item["value"], item["default"], item["source"]) == (True, False, "database")
        assert item["updated_by"] == "admin-api:ops.alice"
        assert item["updated_at"] is not None
        assert response.json()["settings"] == [item]  # PUT answers the state it left

    async def test_without_an_actor_header_the_actor_is_the_admin_api(self, gateway: Gateway) -> None:
        async with gateway() as client:
            await put_settings(client, {"business_plan_active": False})
            assert (await setting(client))["updated_by"] == "admin-api"


class TestAudit:
    async def test_every_change_is_recorded_newest_first(self, gateway: Gateway) -> None:
        async with gateway() as client:
            first = await put_settings(client, {"business_plan_active": True}, **{"X-Request-Id": "req-open"})
            assert first.status_code == 200
            await put_settings(client, {"business_plan_active": False}, **{"X-Admin-Actor": "bob"})
            page = (await client.get(CHANGES, headers=ADMIN_HEADERS)).json()
        assert page["total"] == 2
        newest, oldest = page["items"]
        assert (oldest["name"], oldest["old_value"], oldest["new_value"]) == ("business_plan_active", False, True)
        assert (oldest["actor"], oldest["request_id"]) == ("admin-api", "req-open")
        assert (newest["old_value"], newest["new_value"], newest["actor"]) == (True, False, "admin-api:bob")
        assert newest["request_id"]  # the gateway's own id when the caller sent none
        assert newest["changed_at"] >= oldest["changed_at"]

    async def test_the_audit_pages_and_filters_by_name(self, gateway: Gateway) -> None:
        async with gateway() as client:
            for value in (True, False, True):
                await put_settings(client, {"business_plan_active": value})
            query = {"name": "business_plan_active", "page": 2, "page_size": 2}
            page = (await client.get(CHANGES, params=query, headers=ADMIN_HEADERS)).json()
            unknown = await client.get(CHANGES, params={"name": "nope"}, headers=ADMIN_HEADERS)
        assert (page["total"], len(page["items"]), page["items"][0]["new_value"]) == (3, 1, True)
        assert unknown.status_code == 422


class TestBadInput:
    @pytest.mark.parametrize(
        "body",
        [
            {"unknown_setting": True},
            {"business_plan_active": "true"},
            {"business_plan_active": 1},
            {"business_plan_active": None},
            {"business_plan_active": True, "unknown_setting": True},
            {},
            [{"business_plan_active": True}],
            "true",
        ],
    )
    async def test_is_422_and_changes_nothing(self, gateway: Gateway, body: object) -> None:
        async with gateway() as client:
            response = await put_settings(client, body)
            assert response.status_code == 422, response.text
            assert "detail" in response.json()
            assert (await setting(client))["source"] == "env"
            assert (await client.get(CHANGES, headers=ADMIN_HEADERS)).json()["total"] == 0

    async def test_a_malformed_actor_header_is_422(self, gateway: Gateway) -> None:
        async with gateway() as client:
            response = await put_settings(client, {"business_plan_active": True}, **{"X-Admin-Actor": "a b;c"})
            assert response.status_code == 422
            assert (await setting(client))["source"] == "env"


class TestWhoMayChange:
    async def test_no_credentials_is_401(self, gateway: Gateway) -> None:
        async with gateway() as client:
            assert (await client.get(SETTINGS)).status_code == 401
            assert (await client.put(SETTINGS, json={"business_plan_active": True})).status_code == 401
            assert (await client.get(CHANGES)).status_code == 401

    async def test_a_users_key_is_not_an_admin_key(self, gateway: Gateway) -> None:
        async with gateway() as client:
            async with app_of(client).state.resources.sessionmaker() as session:
                customer = await create_customer(session)
            response = await client.put(SETTINGS, json={"business_plan_active": True}, headers=customer.headers)
            assert response.status_code == 401
            assert (await setting(client))["source"] == "env"

    async def test_without_an_admin_key_configured_the_api_is_403(self, gateway: Gateway) -> None:
        async with gateway(admin_api_key=None) as client:
            response = await put_settings(client, {"business_plan_active": True})
        assert response.status_code == 403


async def test_the_schema_lists_every_known_setting(settings: Settings, client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    update = document["components"]["schemas"]["SettingsUpdate"]
    assert set(update["properties"]) == {"business_plan_active"}
    assert update["additionalProperties"] is False
    assert update["minProperties"] == 1
