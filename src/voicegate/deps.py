"""Annotated dependency aliases shared by every router, so route signatures read like prose."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.ext.asyncio import AsyncSession

from voicegate.billing.idempotency import MAX_KEY_LENGTH
from voicegate.billing.pricing import RateCard
from voicegate.byok.service import Account
from voicegate.config import Settings
from voicegate.resources import Resources
from voicegate.storage.base import StorageBackend
from voicegate.upstream.client import ResembleClient


async def get_resources(request: Request) -> Resources:
    resources: Resources = request.app.state.resources
    return resources


ResourcesDep = Annotated[Resources, Depends(get_resources)]


async def get_settings_from_app(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_session(resources: ResourcesDep) -> AsyncIterator[AsyncSession]:
    """A unit of work: committed when the route returns normally, rolled back when it raises.

    `scope="function"` makes FastAPI run the commit before the response is sent, so a client never sees a
    success whose writes are not durable.
    """
    session = resources.sessionmaker()
    try:
        yield session
    except BaseException:
        await session.rollback()
        await session.close()
        raise
    # Most requests have committed their work (or made none) by now: with no transaction open, the session holds no
    # connection, and committing or closing it would only cost CPU (~0.4 ms a request on the cached routes).
    if session.in_transaction():
        try:
            await session.commit()
        finally:
            await session.close()


SettingsDep = Annotated[Settings, Depends(get_settings_from_app)]
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_account(request: Request, resources: ResourcesDep) -> Account:
    """The Resemble account the caller's calls go to: their own key's when they stored one (see `byok.service`),
    else the gateway's. Every route under the authenticated router has resolved the caller before this runs (its
    `get_principal` dependency comes first); anything else gets the shared account."""
    user_id = getattr(request.state, "user_id", None)
    if not isinstance(user_id, str):
        return resources.byok.shared
    return await resources.byok.account_for_user(user_id)


AccountDep = Annotated[Account, Depends(get_account)]


async def get_upstream(account: AccountDep) -> ResembleClient:
    return account.upstream


async def get_rate_card(account: AccountDep) -> RateCard:
    return account.rate_card


async def get_storage(resources: ResourcesDep) -> StorageBackend:
    return resources.storage


UpstreamDep = Annotated[ResembleClient, Depends(get_upstream)]
StorageDep = Annotated[StorageBackend, Depends(get_storage)]
RateCardDep = Annotated[RateCard, Depends(get_rate_card)]

# Declared, not only checked by the service, so the OpenAPI document states the rule (1-255 characters, not blank).
IdempotencyKeyHeader = Annotated[
    str | None,
    Header(alias="Idempotency-Key", min_length=1, max_length=MAX_KEY_LENGTH, pattern=r"\S"),
]
