"""Bring your own Resemble key: which Resemble account a call goes to, and with which rate card.

A user who stored their own key (`PUT /api/v1/user/byok/resemble`) has every call made with it: `deps.UpstreamDep`
and `deps.RateCardDep` resolve to the `Account` of the caller, which is the shared one (the gateway's key and rate
card) or theirs (a client with their key, and the BYOK card: the platform fee only). Services never branch on it.

Kept per process, plain immutable data only:

- who has a key: `StoredKey` (fingerprint and ciphertext, never the plaintext) per user, for `TTL_S` seconds, so a
  change made through another process is seen within that time; this process forgets at once on PUT and DELETE;
- one `ResembleClient` per key fingerprint (LRU of `MAX_CLIENTS`), made by `ResembleClient.with_key`, so the key is
  decrypted only when its client is not cached, and each key has its own circuit breaker.

A key given per request (the hub SDK's `byok_api_key`) goes through `account_for_request_key`: never stored, never
logged, its client cached by fingerprint like a stored key's so jobs submitted with it can be followed while this
process keeps it.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voicegate.billing.pricing import ByokRateCard, RateCard
from voicegate.byok import repository
from voicegate.byok.crypto import KeyCipher, UnreadableKey
from voicegate.byok.schemas import ByokRead
from voicegate.config import Settings
from voicegate.db.models import UserProviderKey
from voicegate.errors import GatewayError, NotFound, Unprocessable
from voicegate.kit.cache import TtlCache
from voicegate.kit.time import utc_now
from voicegate.upstream.client import ResembleClient

if TYPE_CHECKING:  # resources builds the registry below, so only its type is named here
    from voicegate.resources import Resources

log = logging.getLogger(__name__)

PROVIDER = "resemble"
TTL_S = 5.0
MAX_CLIENTS = 256
NOT_ENABLED = "bring-your-own-key is not enabled on this gateway"
KEY_REJECTED = "Resemble rejected this API key"
KEY_UNREADABLE = "Your stored Resemble API key can no longer be read by this gateway: store it again"
NO_KEY = "No Resemble API key of yours is stored"


class ByokDisabled(GatewayError):
    """400: what was asked for is not offered here (a configuration state, not an outage to retry)."""

    status_code = 400
    detail = NOT_ENABLED


@dataclass(frozen=True)
class StoredKey:
    """A user's stored key as the database holds it: enough to name it and, on a client-cache miss, decrypt it."""

    fingerprint: str
    ciphertext: bytes
    nonce: bytes


@dataclass(frozen=True)
class _Lookup:
    key: StoredKey | None  # None: the user has no key (cached too, so most users cost no query)


@dataclass(frozen=True)
class Account:
    """Where a call goes and how it is priced. `fingerprint` is None for the gateway's shared account."""

    upstream: ResembleClient
    rate_card: RateCard
    fingerprint: str | None = None

    @property
    def byok(self) -> bool:
        return self.fingerprint is not None


class ByokKeys:
    """The process's registry of users' own keys (on `Resources.byok`)."""

    def __init__(
        self,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        shared: ResembleClient,
        shared_card: RateCard,
    ) -> None:
        secret = settings.byok_encryption_key
        self._cipher = KeyCipher.from_setting(secret.get_secret_value()) if secret is not None else None
        self._sessionmaker = sessionmaker
        self.shared = Account(shared, shared_card)
        self.rate_card = ByokRateCard(settings.byok_platform_fee_usd, settings.byok_platform_fee_per_unit)
        self._stored: TtlCache[_Lookup] = TtlCache(ttl_s=TTL_S)
        self._clients: OrderedDict[str, ResembleClient] = OrderedDict()
        self._request_clients: OrderedDict[str, ResembleClient] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self._cipher is not None

    @property
    def cipher(self) -> KeyCipher:
        if self._cipher is None:
            raise ByokDisabled()
        return self._cipher

    # whose account

    async def account_for_user(self, user_id: str) -> Account:
        """The account the user's calls go to: theirs when they stored a key, else the shared one."""
        if self._cipher is None:
            return self.shared
        stored = await self.stored(user_id)
        if stored is None:
            return self.shared
        client = self._client(self._clients, stored.fingerprint, lambda: self._decrypt(stored, user_id))
        return Account(client, self.rate_card, stored.fingerprint)

    def account_for_key(self, api_key: str) -> Account:
        """The account behind a key given with one request (never stored)."""
        fingerprint = self.cipher.fingerprint(api_key)
        return Account(self._client(self._request_clients, fingerprint, lambda: api_key), self.rate_card, fingerprint)

    async def account_for_job(self, user_id: str, fingerprint: str) -> Account | None:
        """The account a job submitted with key `fingerprint` is followed with, or None when that key is gone: the
        user removed or replaced their stored key, or a per-request key this process no longer holds."""
        if self._cipher is None:
            return None
        stored = await self.stored(user_id)
        if stored is not None and stored.fingerprint == fingerprint:
            return await self.account_for_user(user_id)
        client = self._request_clients.get(fingerprint)
        return Account(client, self.rate_card, fingerprint) if client is not None else None

    async def stored(self, user_id: str) -> StoredKey | None:
        cached = self._stored.get(user_id)
        if cached is not None:
            return cached.key
        async with self._sessionmaker() as session:
            row = await repository.get(session, user_id, PROVIDER)
            stored = StoredKey(row.fingerprint, row.ciphertext, row.nonce) if row is not None else None
        self._stored.put(user_id, _Lookup(stored), tag=user_id)
        return stored

    def forget(self, user_id: str, *fingerprints: str | None) -> None:
        """After a PUT or DELETE: drop what this process cached about the user and their old key."""
        self._stored.forget(user_id)
        for fingerprint in fingerprints:
            if fingerprint is not None:
                self._clients.pop(fingerprint, None)

    # internals

    def _decrypt(self, stored: StoredKey, user_id: str) -> str:
        try:
            return self.cipher.decrypt(stored.ciphertext, stored.nonce, user_id)
        except UnreadableKey:
            log.error("byok_key_unreadable", extra={"user_id": user_id})
            raise Unprocessable(KEY_UNREADABLE) from None

    def _client(
        self, cache: OrderedDict[str, ResembleClient], fingerprint: str, api_key: Callable[[], str]
    ) -> ResembleClient:
        client = cache.get(fingerprint)
        if client is None:
            client = self.shared.upstream.with_key(api_key())
            cache[fingerprint] = client
            while len(cache) > MAX_CLIENTS:
                cache.popitem(last=False)
        cache.move_to_end(fingerprint)
        return client


def account_for_request_key(resources: Resources, api_key: str) -> tuple[ResembleClient, RateCard]:
    """The (client, rate card) pair for a Resemble key given with one request (the hub SDK's `byok_api_key`).

    The key is never stored or logged; calls with it are priced by the BYOK card (platform fee only) and their
    Resemble account errors are told as the caller's. Raises `ByokDisabled` (400) without BYOK_ENCRYPTION_KEY,
    which also keys the fingerprint naming the cached client.
    """
    account = resources.byok.account_for_key(api_key)
    return account.upstream, account.rate_card


# the routes' work


def view(row: UserProviderKey) -> ByokRead:
    return ByokRead(provider=PROVIDER, last4=row.last4, created_at=row.created_at, validated_at=row.validated_at)


async def validate(keys: ByokKeys, api_key: str) -> None:
    """Ask Resemble with `api_key` for one page of voices, the cheapest authenticated call: refused -> 422."""
    try:
        await keys.shared.upstream.with_key(api_key).list_voices(page=1, page_size=10)
    except GatewayError as error:
        if error.status_code in (403, 422):  # the own-key mapping of Resemble's 401/402/403
            raise Unprocessable(KEY_REJECTED) from None
        raise


async def store(session: AsyncSession, keys: ByokKeys, user_id: str, api_key: str) -> ByokRead:
    """Validate the key with Resemble, then keep it encrypted; nothing is stored when Resemble refuses it."""
    cipher = keys.cipher
    await validate(keys, api_key)
    ciphertext, nonce = cipher.encrypt(api_key, user_id)
    row, replaced = await repository.put(
        session,
        user_id=user_id,
        provider=PROVIDER,
        ciphertext=ciphertext,
        nonce=nonce,
        last4=api_key[-4:],
        fingerprint=cipher.fingerprint(api_key),
        now=utc_now(),
    )
    shown = view(row)
    await session.commit()
    keys.forget(user_id, replaced)
    log.info("byok_key_stored", extra={"provider": PROVIDER, "last4": shown.last4, "replaced": replaced is not None})
    return shown


async def read(session: AsyncSession, user_id: str) -> ByokRead:
    row = await repository.get(session, user_id, PROVIDER)
    if row is None:
        raise NotFound(NO_KEY)
    return view(row)


async def remove(session: AsyncSession, keys: ByokKeys, user_id: str) -> None:
    fingerprint = await repository.remove(session, user_id, PROVIDER)
    if fingerprint is None:
        raise NotFound(NO_KEY)
    await session.commit()
    keys.forget(user_id, fingerprint)
    log.info("byok_key_removed", extra={"provider": PROVIDER})
