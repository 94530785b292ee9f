"""Account administration: users, their credit and their API keys. Used by the admin API and the CLI alike."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from voicegate.auth.service import CredentialCache
from voicegate.auth.tokens import generate_api_key
from voicegate.billing import ledger
from voicegate.db.models import ApiKey, User
from voicegate.erasure import repository as erasures
from voicegate.errors import Conflict, NotFound
from voicegate.kit.time import utc_now
from voicegate.ratelimit.rules import DEFAULT_TIER, Tier


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    plaintext: str


async def get_user(session: AsyncSession, user_id: str) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("User not found")
    return user


async def find_user_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == email.lower()))


async def refuse_if_erased(session: AsyncSession, user_id: str) -> None:
    """An erased user (or one being erased) gets no new credit and no new key."""
    if await erasures.erasure_started(session, user_id):
        raise Conflict("This user has been erased (or is being erased): nothing can be added to the account")


async def issue_key(session: AsyncSession, user_id: str, name: str = "default") -> IssuedKey:
    await get_user(session, user_id)
    await refuse_if_erased(session, user_id)
    new = generate_api_key()
    key = ApiKey(user_id=user_id, prefix=new.prefix, key_hash=new.key_hash, name=name)
    session.add(key)
    await session.flush()
    return IssuedKey(key=key, plaintext=new.plaintext)


async def create_user(
    session: AsyncSession, *, email: str, credits_usd: Decimal, tier: Tier = DEFAULT_TIER
) -> tuple[User, IssuedKey]:
    """A new user with one API key (shown once) and, optionally, an opening credit grant."""
    user = User(email=email.lower(), tier=Tier(tier).value, balance_usd=Decimal(0))
    session.add(user)
    try:
        await session.flush()
    except IntegrityError as exc:
        await session.rollback()
        raise Conflict("A user with this email already exists") from exc
    if credits_usd > 0:
        await ledger.grant(session, user.id, credits_usd, note="opening balance")
    issued = await issue_key(session, user.id)
    await session.refresh(user)
    return user, issued


async def grant_credits(session: AsyncSession, user_id: str, amount_usd: Decimal, note: str | None) -> User:
    await get_user(session, user_id)
    await refuse_if_erased(session, user_id)
    await ledger.grant(session, user_id, amount_usd, note=note)
    user = await get_user(session, user_id)
    await session.refresh(user)
    return user


async def erased_at(session: AsyncSession, user_id: str) -> datetime | None:
    return await erasures.erased_at(session, user_id)


async def list_keys(session: AsyncSession, user_id: str) -> list[ApiKey]:
    return list((await session.scalars(select(ApiKey).where(ApiKey.user_id == user_id))).all())


async def revoke_key(
    session: AsyncSession, key_id: str, user_id: str | None = None, *, credentials: CredentialCache | None = None
) -> ApiKey:
    """Revoke a key, effective at once: committed first, then forgotten by this process's credential cache (other
    processes, and a CLI run, reach the same state within the cache's lifetime)."""
    statement = select(ApiKey).where(ApiKey.id == key_id)
    if user_id is not None:
        statement = statement.where(ApiKey.user_id == user_id)
    key = await session.scalar(statement)
    if key is None:
        raise NotFound("API key not found")
    if key.revoked_at is None:
        await session.execute(update(ApiKey).where(ApiKey.id == key.id).values(revoked_at=utc_now()))
        await session.commit()
        await session.refresh(key)
    if credentials is not None:
        credentials.forget(key.id)
    return key


async def set_tier(
    session: AsyncSession, user_id: str, tier: Tier, *, credentials: CredentialCache | None = None
) -> User:
    """Move a user to `tier`. Committed first, then every cached principal of the user's keys is forgotten in this
    process, so its next request is limited under the new tier; other processes (and a CLI run) reach it when their
    cached principal expires, within `auth.service.CREDENTIAL_CACHE_TTL_S` (5 s)."""
    user = await get_user(session, user_id)
    if user.tier != tier.value:
        await session.execute(update(User).where(User.id == user_id).values(tier=tier.value))
        await session.commit()
        await session.refresh(user)
    if credentials is not None:
        for key in await list_keys(session, user_id):
            credentials.forget(key.id)
    return user
