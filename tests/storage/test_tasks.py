"""Retention on the running app (both stacks): expiry moves to `_deleted/`, the asset stops being issued, restore
brings it back, purge removes it for good; through the CLI and HTTP."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from tests.downloads import download
from tests.factories import ADMIN_HEADERS, Customer, create_customer
from tests.resemble.jobs.helpers import WAV_2S, submit, upload, wait_terminal
from tests.storage.retention_support import Cli, asset_row, cli_environment, cli_for, later, set_expiry
from voicegate.config import Settings
from voicegate.db.models import ProviderResembleAsset, User
from voicegate.kit.time import utc_now
from voicegate.storage import tasks
from voicegate.storage.base import StorageBackend, StorageError
from voicegate.storage.retention import deleted_key

RESTORE = "/api/v1/admin/storage/restore"
NOTHING = {"missing": 0, "failed": 0, "skipped": 0}


@pytest.fixture
async def customer(app: FastAPI) -> Customer:
    async with app.state.resources.sessionmaker() as session:
        return await create_customer(session, credits="10.00")


@pytest.fixture
def cli(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    yield from cli_for(cli_environment(settings), monkeypatch)


def storage_of(app: FastAPI) -> StorageBackend:
    storage: StorageBackend = app.state.resources.storage
    return storage


async def balance(app: FastAPI, user_id: str) -> Decimal:
    async with app.state.resources.sessionmaker() as session:
        value = await session.scalar(select(User.balance_usd).where(User.id == user_id))
    assert value is not None
    return value


async def get_upload(client: httpx.AsyncClient, customer: Customer, asset_id: str) -> dict:
    response = await client.get(f"/api/v1/resemble/uploads/{asset_id}", headers=customer.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def key_of(app: FastAPI, asset_id: str) -> str:
    return str((await asset_row(app, asset_id))["storage_key"])


class TestExpireRestorePurge:
    async def test_one_upload_through_its_whole_retention(
        self, app: FastAPI, client: httpx.AsyncClient, customer: Customer, cli: Cli
    ) -> None:
        storage = storage_of(app)
        uploaded = await upload(client, customer, purpose=None)  # generic uploads/: 30 days
        key = await key_of(app, uploaded["asset_id"])
        assert (await get_upload(client, customer, uploaded["asset_id"]))["asset_expired"] is False

        assert await cli("storage", "expire", "--as-of", later(29)) == {"moved": 0, **NOTHING}
        assert await cli("storage", "expire", "--as-of", later(31)) == {"moved": 1, **NOTHING}
        assert not await storage.exists(key)
        assert await storage.exists(deleted_key(key))

        # Expired: no link is issued, the old link is gone, and a job naming it is refused before anything is held.
        view = await get_upload(client, customer, uploaded["asset_id"])
        assert (view["url"], view["url_expires_at"], view["asset_expired"]) == (None, None, True)
        if app.state.settings.storage_backend == "local":
            parts = urlsplit(uploaded["url"])
            gone = await client.get(f"{parts.path}?{parts.query}")
            assert gone.status_code == 410
            assert "expired" in gone.json()["detail"]
        refused = await submit(client, customer, "enhance", uploaded["url"])
        assert refused.status_code == 410
        assert "expired" in refused.json()["detail"]
        assert await balance(app, customer.user.id) == Decimal(10)

        restored = await cli("storage", "restore", key)
        assert restored["key"] == key
        row = await asset_row(app, uploaded["asset_id"])
        assert row["deleted_at"] is None
        assert row["expires_at"] - utc_now() == pytest.approx(timedelta(days=30), abs=timedelta(minutes=1))
        view = await get_upload(client, customer, uploaded["asset_id"])
        assert view["asset_expired"] is False
        assert await download(client, view["url"]) == WAV_2S

        # Expired again, then purged once the 7-day window has passed, and never back.
        assert (await cli("storage", "expire", "--as-of", later(31)))["moved"] == 1
        assert await cli("storage", "purge", "--as-of", later(37)) == {"purged": 0, **NOTHING}
        assert await cli("storage", "purge", "--as-of", later(39)) == {"purged": 1, **NOTHING}
        assert not await storage.exists(key)
        assert not await storage.exists(deleted_key(key))
        assert (await asset_row(app, uploaded["asset_id"]))["purged_at"] is not None
        again = await client.post(RESTORE, json={"key": key}, headers=ADMIN_HEADERS)
        assert again.status_code == 410
        assert "for good" in again.json()["detail"]
        assert (await get_upload(client, customer, uploaded["asset_id"]))["asset_expired"] is True

    async def test_restore_through_the_admin_route(
        self, app: FastAPI, client: httpx.AsyncClient, customer: Customer
    ) -> None:
        uploaded = await upload(client, customer, purpose="stt_input")  # 30 days
        key = await key_of(app, uploaded["asset_id"])
        not_deleted = await client.post(RESTORE, json={"key": key}, headers=ADMIN_HEADERS)
        assert not_deleted.status_code == 409
        assert not_deleted.json() == {"detail": "This asset is not deleted"}

        await tasks.expire_assets(app.state.resources, as_of=utc_now() + timedelta(days=31))
        response = await client.post(RESTORE, json={"key": deleted_key(key)}, headers=ADMIN_HEADERS)
        assert response.status_code == 200, response.text
        assert response.json()["key"] == key
        assert response.json()["asset_id"] == uploaded["asset_id"]
        assert await storage_of(app).exists(key)
        assert not await storage_of(app).exists(deleted_key(key))

    async def test_a_restore_that_stopped_after_moving_back_is_finished_by_the_next(
        self, app: FastAPI, client: httpx.AsyncClient, customer: Customer
    ) -> None:
        uploaded = await upload(client, customer, purpose=None)
        key = await key_of(app, uploaded["asset_id"])
        await tasks.expire_assets(app.state.resources, as_of=utc_now() + timedelta(days=31))
        await storage_of(app).move(deleted_key(key), key)  # the crash: moved back, row still marked

        response = await client.post(RESTORE, json={"key": key}, headers=ADMIN_HEADERS)
        assert response.status_code == 200, response.text
        assert (await get_upload(client, customer, uploaded["asset_id"]))["asset_expired"] is False

    async def test_restore_of_an_object_gone_from_storage_is_gone(
        self, app: FastAPI, client: httpx.AsyncClient, customer: Customer
    ) -> None:
        uploaded = await upload(client, customer, purpose=None)
        key = await key_of(app, uploaded["asset_id"])
        await tasks.expire_assets(app.state.resources, as_of=utc_now() + timedelta(days=31))
        await storage_of(app).delete(deleted_key(key))

        response = await client.post(RESTORE, json={"key": key}, headers=ADMIN_HEADERS)
        assert response.status_code == 410
        assert response.json() == {"detail": "This asset is no longer in storage"}

    @pytest.mark.parametrize("key", ["uploads/nobody/2026/01/01/000000-x.wav", "../etc/passwd", "_deleted/"])
    async def test_restore_of_an_unknown_key_is_not_found(self, client: httpx.AsyncClient, key: str) -> None:
        response = await client.post(RESTORE, json={"key": key}, headers=ADMIN_HEADERS)
        assert response.status_code == 404
        assert response.json() == {"detail": "No stored asset has this key"}

    async def test_restore_needs_the_admin_key(self, client: httpx.AsyncClient, customer: Customer) -> None:
        response = await client.post(RESTORE, json={"key": "uploads/x"}, headers=customer.headers)
        assert response.status_code == 401

    async def test_restore_of_an_unknown_key_exits_non_zero(self, cli: Cli) -> None:
        result = await cli("storage", "restore", "uploads/nobody/2026/01/01/000000-x.wav", exit_code=1)
        assert "No stored asset has this key" in result.output


class TestJobOutput:
    async def test_an_expired_output_is_no_longer_linked_nor_mirrored_again(
        self, app: FastAPI, client: httpx.AsyncClient, customer: Customer
    ) -> None:
        source = await upload(client, customer)
        job = (await submit(client, customer, "enhance", source["url"])).json()
        done = await wait_terminal(client, customer, "enhance", job["job_id"])
        assert done["audio_url"]
        assert done["asset_expired"] is False

        report = await tasks.expire_assets(app.state.resources, as_of=utc_now() + timedelta(days=8))
        assert (report.done, report.failed) == (2, 0)  # the input upload and the output, both audio-jobs/: 7 days

        response = await client.get(f"/api/v1/resemble/enhance/{job['job_id']}", headers=customer.headers)
        body = response.json()
        assert response.status_code == 200
        assert (body["audio_url"], body["asset_expired"]) == (None, True)
        assert body["expires_at"] == done["expires_at"]
        async with app.state.resources.sessionmaker() as session:
            rows = await session.scalar(
                select(func.count()).select_from(ProviderResembleAsset).where(ProviderResembleAsset.job_id.is_not(None))
            )
        assert rows == 1


class TestPermanentClasses:
    async def test_voice_recordings_are_never_touched(
        self, app: FastAPI, client: httpx.AsyncClient, customer: Customer, cli: Cli
    ) -> None:
        uploaded = await upload(client, customer, purpose="voice_clone")
        assert uploaded["expires_at"] is None
        await set_expiry(app, uploaded["asset_id"], -1)  # even a row that claims an expiry

        assert await cli("storage", "expire", "--as-of", later(3650)) == {"moved": 0, **NOTHING}
        assert await storage_of(app).exists(await key_of(app, uploaded["asset_id"]))
        assert (await asset_row(app, uploaded["asset_id"]))["deleted_at"] is None


class TestCrashSafety:
    async def test_a_move_whose_mark_was_lost_is_finished_by_the_next_run(
        self, app: FastAPI, client: httpx.AsyncClient, customer: Customer
    ) -> None:
        uploaded = await upload(client, customer, purpose=None)
        key = await key_of(app, uploaded["asset_id"])
        await storage_of(app).move(key, deleted_key(key))  # the crash: moved, row never marked

        report = await tasks.expire_assets(app.state.resources, as_of=utc_now() + timedelta(days=31))
        assert (report.done, report.missing, report.failed) == (1, 0, 0)
        assert (await asset_row(app, uploaded["asset_id"]))["deleted_at"] is not None
        assert await storage_of(app).exists(deleted_key(key))

    async def test_a_copy_whose_source_was_not_deleted_is_finished_by_the_next_run(
        self, app: FastAPI, client: httpx.AsyncClient, customer: Customer
    ) -> None:
        uploaded = await upload(client, customer, purpose=None)
        key = await key_of(app, uploaded["asset_id"])
        storage = storage_of(app)
        await storage.put_bytes(deleted_key(key), await storage.get_bytes(key), "audio/wav")  # copied, not deleted

        report = await tasks.expire_assets(app.state.resources, as_of=utc_now() + timedelta(days=31))
        assert report.done == 1
        assert not await storage.exists(key)
        assert await storage.get_bytes(deleted_key(key)) == WAV_2S

    async def test_an_object_already_gone_is_marked_and_counted_missing(
        self, app: FastAPI, client: httpx.AsyncClient, customer: Customer
    ) -> None:
        uploaded = await upload(client, customer, purpose=None)
        await storage_of(app).delete(await key_of(app, uploaded["asset_id"]))

        report = await tasks.expire_assets(app.state.resources, as_of=utc_now() + timedelta(days=31))
        assert (report.done, report.missing) == (0, 1)
        assert (await asset_row(app, uploaded["asset_id"]))["deleted_at"] is not None

    async def test_double_runs_change_nothing(
        self, app: FastAPI, client: httpx.AsyncClient, customer: Customer, cli: Cli
    ) -> None:
        for _ in range(3):
            await upload(client, customer, purpose=None)
        assert (await cli("storage", "expire", "--as-of", later(31)))["moved"] == 3
        assert await cli("storage", "expire", "--as-of", later(31)) == {"moved": 0, **NOTHING}
        assert (await cli("storage", "purge", "--as-of", later(40)))["purged"] == 3
        assert await cli("storage", "purge", "--as-of", later(40)) == {"purged": 0, **NOTHING}


@dataclasses.dataclass
class FailingMoves:
    """The app's backend, except that moving `bad_key` fails."""

    inner: StorageBackend
    bad_key: str

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    async def move(self, src_key: str, dst_key: str) -> None:
        if src_key == self.bad_key:
            raise StorageError("injected failure")
        await self.inner.move(src_key, dst_key)


class TestIsolationAndBatches:
    async def test_one_failing_object_never_stops_the_run(
        self, app: FastAPI, client: httpx.AsyncClient, customer: Customer
    ) -> None:
        ids = [(await upload(client, customer, purpose=None))["asset_id"] for _ in range(3)]
        storage = FailingMoves(storage_of(app), bad_key=await key_of(app, ids[1]))
        resources = app.state.resources

        report = await tasks.expire(resources.sessionmaker, storage, utc_now() + timedelta(days=31))  # type: ignore[arg-type]
        assert (report.done, report.failed) == (2, 1)
        assert (await asset_row(app, ids[1]))["deleted_at"] is None
        retried = await tasks.expire(resources.sessionmaker, storage_of(app), utc_now() + timedelta(days=31))
        assert (retried.done, retried.failed) == (1, 0)

    async def test_every_batch_is_swept(self, app: FastAPI, client: httpx.AsyncClient, customer: Customer) -> None:
        for _ in range(5):
            await upload(client, customer, purpose=None)
        resources = app.state.resources
        moment = utc_now() + timedelta(days=31)
        assert (await tasks.expire(resources.sessionmaker, resources.storage, moment, batch_size=2)).done == 5
        purged = await tasks.purge(resources.sessionmaker, resources.storage, moment + timedelta(days=8), batch_size=2)
        assert purged.done == 5
