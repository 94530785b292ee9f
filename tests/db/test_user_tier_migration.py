"""Migration 0010: today's `standard` users become `free`, and a row written without a tier is `free`."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from voicegate.db import migrate
from voicegate.db.base import UTCDateTime
from voicegate.kit.ids import new_id
from voicegate.kit.time import utc_now

# The users table as a plain table with no tier column and no Python-side defaults: what an insert that names no
# tier sends, so only the database's own default can fill it.
tierless_users = sa.table(
    "users",
    sa.column("id", sa.String()),
    sa.column("email", sa.String()),
    sa.column("balance_usd", sa.BigInteger()),
    sa.column("created_at", UTCDateTime()),
)


def tierless_user(email: str) -> sa.Insert:
    return tierless_users.insert().values(id=new_id(), email=email, balance_usd=0, created_at=utc_now())


def standard_user(email: str) -> sa.TextClause:
    """A user as 0007 wrote them, with the old default tier."""
    return sa.text(
        "INSERT INTO users (id, email, tier, balance_usd, created_at) VALUES (:id, :email, 'standard', 0, :at)"
    ).bindparams(id=new_id(), email=email, at=utc_now().isoformat())


@pytest.mark.embedded_only
async def test_standard_users_become_free_and_back(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    sync_url = url.replace("+aiosqlite", "")
    users = sa.table("users", sa.column("email", sa.String()), sa.column("tier", sa.String()))

    def tiers() -> dict[str, str]:
        engine = sa.create_engine(sync_url)
        try:
            with engine.connect() as connection:
                return {row.email: row.tier for row in connection.execute(sa.select(users.c.email, users.c.tier))}
        finally:
            engine.dispose()

    def write(*statements: sa.Executable) -> None:
        engine = sa.create_engine(sync_url)
        try:
            with engine.begin() as connection:
                for statement in statements:
                    connection.execute(statement)
        finally:
            engine.dispose()

    def cycle() -> None:
        migrate.upgrade(url, "0010")
        write(standard_user("old@example.com"))
        migrate.upgrade(url)
        write(tierless_user("new@example.com"))
        assert tiers() == {"old@example.com": "free", "new@example.com": "free"}
        migrate.downgrade(url, "0010")
        assert tiers() == {"old@example.com": "standard", "new@example.com": "standard"}

    await anyio.to_thread.run_sync(cycle)


async def test_the_session_database_fills_in_free(app: FastAPI, session: AsyncSession) -> None:
    await session.execute(tierless_user("tierless@example.com"))
    await session.commit()
    tier = await session.scalar(sa.text("SELECT tier FROM users WHERE email = 'tierless@example.com'"))
    assert tier == "free"
