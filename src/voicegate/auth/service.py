"""Authentication rules: an API key or an access token resolves to one active user, or nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from voicegate.auth import repository, tokens
from voicegate.db.models import ApiKey, User
from voicegate.errors import Unauthorized
from voicegate.kit.cache import TtlCache
from voicegate.kit.time import utc_now

# How long a process remembers who a credential belongs to. Checking it against the database costs several round
# trips per request (the bench measured 1.2-2 ms). Revoking a key forgets it at once in the revoking process;
# other processes notice within this time.
CREDENTIAL_CACHE_TTL_S = 5.0


@dataclass(frozen=True, slots=True)
class CallerUser:
    """The caller's user as plain values. Balance is deliberately absent: money is read in the request's own
    transaction, never from a cache."""

    id: str
    tier: str


@dataclass(frozen=True, slots=True)
class CallerKey:
    id: str
    revoked: bool


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling. Plain immutable data, safe to cache across requests and sessions (never ORM instances)."""

    user: CallerUser
    key: CallerKey


CredentialCache = TtlCache[Principal]


@dataclass(frozen=True)
class AccessToken:
    access_token: str
    expires_in: int
    token_type: str = "bearer"


def _principal(key: ApiKey, user: User) -> Principal:
    """Copy what authentication needs out of the rows, so nothing refers to them once their session ends."""
    return Principal(CallerUser(id=user.id, tier=user.tier), CallerKey(id=key.id, revoked=key.revoked_at is not None))


def _active(principal: Principal) -> Principal:
    if principal.key.revoked:
        raise Unauthorized("API key has been revoked")
    return principal


async def _lookup(session: AsyncSession, *, prefix: str | None = None, key_id: str | None = None) -> Principal | None:
    found = await repository.find_key_with_user(session, prefix=prefix, key_id=key_id)
    if found is None:
        return None
    return _principal(*found)


async def _verify_api_key(session: AsyncSession, candidate: str) -> Principal:
    """The key's principal, revoked or not; `Unauthorized` unless the key exists and its secret matches."""
    candidate = candidate.strip()
    prefix = tokens.split_api_key(candidate)
    found = await repository.find_key_with_user(session, prefix=prefix) if prefix else None
    if found is None or not tokens.api_key_matches(candidate, found[0].key_hash):
        raise Unauthorized("Invalid API key")
    return _principal(*found)


async def authenticate_api_key(session: AsyncSession, candidate: str) -> Principal:
    return _active(await _verify_api_key(session, candidate))


async def authenticate_access_token(
    session: AsyncSession, token: str, *, secret: str, cache: CredentialCache
) -> Principal:
    try:
        claims = tokens.decode_access_token(token, secret=secret)  # signature and expiry: checked every time
    except tokens.InvalidToken as exc:
        raise Unauthorized(str(exc)) from exc
    cache_key = f"kid:{claims.key_id}:{claims.user_id}"
    cached = cache.get(cache_key)
    if cached is not None:
        return _active(cached)
    principal = await _lookup(session, key_id=claims.key_id)
    if principal is None or principal.user.id != claims.user_id:
        raise Unauthorized("Invalid access token")
    cache.put(cache_key, principal, tag=principal.key.id)
    return _active(principal)


async def authenticate_bearer(
    session: AsyncSession, credential: str, *, secret: str, cache: CredentialCache
) -> Principal:
    """`Authorization: Bearer` accepts either a raw API key or an access token issued for one.

    A cache hit makes no database call. Only verified credentials are remembered (a wrong secret never is), with
    their key's status, so a revoked key is refused from memory too.
    """
    if not credential.startswith(tokens.API_KEY_PREFIX):
        return await authenticate_access_token(session, credential, secret=secret, cache=cache)
    cache_key = "key:" + tokens.hash_api_key(credential.strip())
    cached = cache.get(cache_key)
    if cached is not None:
        return _active(cached)
    principal = await _verify_api_key(session, credential)
    cache.put(cache_key, principal, tag=principal.key.id)
    return _active(principal)


async def exchange_api_key(session: AsyncSession, candidate: str, *, secret: str, ttl_s: int) -> AccessToken:
    principal = await authenticate_api_key(session, candidate)
    now = utc_now()
    await repository.touch_key(session, principal.key.id, now)
    token = tokens.issue_access_token(
        user_id=principal.user.id,
        key_id=principal.key.id,
        secret=secret,
        now=now,
        ttl=timedelta(seconds=ttl_s),
    )
    return AccessToken(access_token=token, expires_in=ttl_s)
