from __future__ import annotations

import httpx
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import Customer
from tests.resemble.projects.conftest import PROJECTS, create_project, upstream_requests
from voicegate.db.models import ProviderResembleRequest, ProviderResembleResource


class TestCreate:
    async def test_fills_resembles_required_fields_and_records_the_owner(
        self, client: httpx.AsyncClient, session: AsyncSession, customer: Customer, simulator: httpx.AsyncClient
    ):
        response = await client.post(PROJECTS, json={"name": "Podcast"}, headers=customer.headers)
        assert response.status_code == 200, response.text
        item = response.json()["item"]
        assert item["name"] == "Podcast"
        assert (item["description"], item["is_collaborative"], item["is_archived"]) == ("", False, False)
        sent = (await upstream_requests(simulator))[-1]
        assert sent["json"] == {"name": "Podcast", "description": "", "is_collaborative": False, "is_archived": False}
        row = await session.scalar(
            select(ProviderResembleResource).where(ProviderResembleResource.upstream_id == item["uuid"])
        )
        assert row is not None
        assert (row.kind, row.user_id, row.parent_id, row.deleted_at) == ("project", customer.user.id, None, None)
        calls = (
            await session.scalars(
                select(ProviderResembleRequest).where(ProviderResembleRequest.user_id == customer.user.id)
            )
        ).all()
        assert [(c.capability, c.operation, c.status) for c in calls] == [("projects", "create_project", "succeeded")]

    async def test_invalid_fields_are_422_before_any_upstream_call(
        self, client: httpx.AsyncClient, customer: Customer, simulator: httpx.AsyncClient
    ):
        response = await client.post(
            PROJECTS, json={"name": "  ", "is_archived": "maybe", "colour": "red"}, headers=customer.headers
        )
        assert response.status_code == 422
        fields = {tuple(error["loc"]) for error in response.json()["detail"]}
        assert fields == {("body", "name"), ("body", "is_archived"), ("body", "colour")}
        assert await upstream_requests(simulator) == []

    async def test_upstream_validation_errors_come_back_as_422_with_resembles_message(
        self, client: httpx.AsyncClient, customer: Customer, simulator: httpx.AsyncClient
    ):
        await simulator.post("/_sim/faults", json={"path": "/api/v2/projects$", "status": 422, "count": 1})
        response = await client.post(PROJECTS, json={"name": "Podcast"}, headers=customer.headers)
        assert response.status_code == 422
        assert "Simulated fault" in response.json()["detail"]

    async def test_upstream_failure_is_502_and_leaves_no_row(
        self, client: httpx.AsyncClient, session: AsyncSession, customer: Customer, simulator: httpx.AsyncClient
    ):
        await simulator.post("/_sim/faults", json={"path": "/api/v2/projects$", "status": 500, "count": 1})
        response = await client.post(PROJECTS, json={"name": "Podcast"}, headers=customer.headers)
        assert response.status_code == 502
        assert await session.scalar(select(ProviderResembleResource)) is None
        failed = await session.scalar(
            select(ProviderResembleRequest).where(ProviderResembleRequest.user_id == customer.user.id)
        )
        assert failed is not None
        assert (failed.status, failed.upstream_status) == ("failed", 500)


class TestReadUpdateDelete:
    async def test_get_update_delete_round_trip(
        self, client: httpx.AsyncClient, session: AsyncSession, customer: Customer
    ):
        uuid = await create_project(client, customer)
        got = await client.get(f"{PROJECTS}/{uuid}", headers=customer.headers)
        assert got.status_code == 200
        assert got.json()["item"]["uuid"] == uuid

        updated = await client.put(
            f"{PROJECTS}/{uuid}", json={"description": "Season two", "is_archived": True}, headers=customer.headers
        )
        assert updated.status_code == 200, updated.text
        assert (updated.json()["item"]["description"], updated.json()["item"]["is_archived"]) == ("Season two", True)
        assert updated.json()["item"]["name"] == "Audiobook"

        deleted = await client.delete(f"{PROJECTS}/{uuid}", headers=customer.headers)
        assert deleted.status_code == 200
        assert deleted.json() == {"success": True, "uuid": uuid}
        assert (await client.get(f"{PROJECTS}/{uuid}", headers=customer.headers)).status_code == 404
        row = await session.scalar(select(ProviderResembleResource).where(ProviderResembleResource.upstream_id == uuid))
        assert row is not None
        assert row.deleted_at is not None

    async def test_update_needs_a_field(self, client: httpx.AsyncClient, customer: Customer):
        uuid = await create_project(client, customer)
        response = await client.put(f"{PROJECTS}/{uuid}", json={}, headers=customer.headers)
        assert response.status_code == 422

    async def test_unknown_id_is_404_without_upstream_call(
        self, client: httpx.AsyncClient, customer: Customer, simulator: httpx.AsyncClient
    ):
        for method in ("GET", "PUT", "DELETE"):
            response = await client.request(
                method, f"{PROJECTS}/deadbeef", json={"name": "x"}, headers=customer.headers
            )
            assert response.status_code == 404, method
            assert response.json() == {"detail": "Project not found"}
        assert await upstream_requests(simulator) == []

    async def test_malformed_id_is_422(self, client: httpx.AsyncClient, customer: Customer):
        response = await client.get(f"{PROJECTS}/not%20an%20id", headers=customer.headers)
        assert response.status_code == 422

    async def test_delete_counts_an_upstream_404_as_gone(
        self, client: httpx.AsyncClient, customer: Customer, simulator: httpx.AsyncClient
    ):
        uuid = await create_project(client, customer)
        await simulator.post("/_sim/faults", json={"path": f"/projects/{uuid}$", "status": 404, "count": 1})
        assert (await client.delete(f"{PROJECTS}/{uuid}", headers=customer.headers)).status_code == 200
        listed = await client.get(PROJECTS, headers=customer.headers)
        assert listed.json()["total_count"] == 0

    async def test_failed_delete_keeps_the_project(
        self, client: httpx.AsyncClient, customer: Customer, simulator: httpx.AsyncClient
    ):
        uuid = await create_project(client, customer)
        await simulator.post("/_sim/faults", json={"path": f"/projects/{uuid}$", "status": 500, "count": -1})
        assert (await client.delete(f"{PROJECTS}/{uuid}", headers=customer.headers)).status_code == 502
        await simulator.delete("/_sim/faults")
        assert (await client.get(f"{PROJECTS}/{uuid}", headers=customer.headers)).status_code == 200


class TestList:
    async def test_pages_come_from_the_ownership_table_not_the_account(
        self, client: httpx.AsyncClient, customer: Customer, other: Customer, simulator: httpx.AsyncClient
    ):
        mine = [await create_project(client, customer, f"P{i}") for i in range(12)]
        await create_project(client, other, "Not yours")
        await simulator.delete("/_sim/requests")

        first = await client.get(f"{PROJECTS}?page=1&page_size=10", headers=customer.headers)
        second = await client.get(f"{PROJECTS}?page=2&page_size=10", headers=customer.headers)
        assert first.status_code == 200, first.text
        body = first.json()
        assert {k: body[k] for k in ("success", "page", "num_pages", "page_size", "total_count")} == {
            "success": True,
            "page": 1,
            "num_pages": 2,
            "page_size": 10,
            "total_count": 12,
        }
        assert [item["uuid"] for item in body["items"] + second.json()["items"]] == mine
        paths = {r["path"] for r in await upstream_requests(simulator)}
        assert "/api/v2/projects" not in paths  # never the account-wide list

    async def test_page_size_bounds(self, client: httpx.AsyncClient, customer: Customer):
        for query in ("page_size=9", "page_size=1001", "page=0", "page=x"):
            assert (await client.get(f"{PROJECTS}?{query}", headers=customer.headers)).status_code == 422, query

    async def test_deleted_elsewhere_disappears_from_the_list_and_get(
        self, client: httpx.AsyncClient, session: AsyncSession, customer: Customer, app
    ):
        kept = await create_project(client, customer, "Kept")
        gone = await create_project(client, customer, "Gone")
        upstream = app.state.resources.upstream
        await upstream.request_json("DELETE", f"projects/{gone}", idempotent=True, operation="test")

        listed = await client.get(PROJECTS, headers=customer.headers)
        assert listed.status_code == 200
        assert [item["uuid"] for item in listed.json()["items"]] == [kept]
        assert listed.json()["total_count"] == 1
        row = await session.scalar(select(ProviderResembleResource).where(ProviderResembleResource.upstream_id == gone))
        assert row is not None
        assert row.deleted_at is not None

    async def test_get_of_an_object_deleted_elsewhere_is_404_and_reconciled(
        self, client: httpx.AsyncClient, customer: Customer, app, simulator: httpx.AsyncClient
    ):
        gone = await create_project(client, customer, "Gone")
        await app.state.resources.upstream.request_json("DELETE", f"projects/{gone}", idempotent=True, operation="test")
        assert (await client.get(f"{PROJECTS}/{gone}", headers=customer.headers)).status_code == 404
        await simulator.delete("/_sim/requests")
        assert (await client.get(f"{PROJECTS}/{gone}", headers=customer.headers)).status_code == 404
        assert await upstream_requests(simulator) == []  # the row is retired: no second upstream call

    async def test_an_upstream_failure_while_listing_is_502(
        self, client: httpx.AsyncClient, customer: Customer, simulator: httpx.AsyncClient
    ):
        await create_project(client, customer)
        await simulator.post("/_sim/faults", json={"path": "/api/v2/projects/", "status": 503, "count": -1})
        assert (await client.get(PROJECTS, headers=customer.headers)).status_code == 502


class TestCompensation:
    async def test_a_failed_ownership_write_deletes_the_new_project_upstream_and_answers_503(
        self,
        client: httpx.AsyncClient,
        session: AsyncSession,
        customer: Customer,
        simulator: httpx.AsyncClient,
        app,
        ownership_writes_fail: None,
        caplog,
    ):
        response = await client.post(PROJECTS, json={"name": "Orphan"}, headers=customer.headers)
        assert response.status_code == 503
        assert "retry" in response.json()["detail"]
        calls = [(r["method"], r["path"], r["status"]) for r in await upstream_requests(simulator)]
        assert calls[0][:2] == ("POST", "/api/v2/projects")
        created = calls[1][1].rsplit("/", 1)[1]
        assert calls[1] == ("DELETE", f"/api/v2/projects/{created}", 200)
        account = await app.state.resources.upstream.request_json(
            "GET", "projects", params={"page": 1}, idempotent=True, operation="test"
        )
        assert account["items"] == []
        assert "ownership_write_failed_object_deleted" in caplog.text
        assert await session.scalar(select(ProviderResembleResource)) is None


class TestCrashBetweenUpstreamDeleteAndOurWrite:
    async def test_the_row_left_behind_is_reconciled_on_the_next_read(
        self, client: httpx.AsyncClient, session: AsyncSession, customer: Customer, app, simulator: httpx.AsyncClient
    ):
        uuid = await create_project(client, customer)
        failed: list[str] = []

        def lose_the_write(conn: object, cursor: object, statement: str, *_: object) -> None:
            if statement.startswith("UPDATE provider_resemble_resource") and not failed:
                failed.append(statement)
                raise OperationalError(statement, {}, Exception("connection lost"))

        engine = app.state.resources.engine.sync_engine
        event.listen(engine, "before_cursor_execute", lose_the_write)
        try:
            deleted = await client.delete(f"{PROJECTS}/{uuid}", headers=customer.headers)
        finally:
            event.remove(engine, "before_cursor_execute", lose_the_write)
        assert deleted.status_code == 200
        assert failed
        row = await session.scalar(select(ProviderResembleResource).where(ProviderResembleResource.upstream_id == uuid))
        assert row is not None
        assert row.deleted_at is None  # the write was lost: the row points at nothing upstream

        listed = await client.get(PROJECTS, headers=customer.headers)
        assert (listed.status_code, listed.json()["total_count"], listed.json()["items"]) == (200, 0, [])
        await session.refresh(row)
        assert row.deleted_at is not None
