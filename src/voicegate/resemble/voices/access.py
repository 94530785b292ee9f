"""Who may see and use a voice. Every route that lists, reads or speaks with a voice applies this one rule.

All users share one Resemble account, so its catalogue holds everyone's cloned voices next to Resemble's own.
User U may see and use voice V in exactly two cases:

- U owns V: there is a live `voice` ownership row for V and U (a voice U created here);
- nobody here owns V, and the account catalogue marks V as stock: its `source` names Resemble's voice library
  (`is_stock_source`). A voice marked custom, or with no `source`, is treated as custom.

In every other case the answer is the same 404 "Voice not found": another user's voice, a custom voice nobody here
owns (made outside the gateway), and a uuid the catalogue does not hold. That is decided without asking Resemble
about the voice, so a guessed uuid never reaches upstream, and a stock voice Resemble has only just added is usable
once the catalogue snapshot is refreshed (30 s at most).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from voicegate.billing.pricing import RateCard
from voicegate.errors import NotFound
from voicegate.resemble.ownership import repository
from voicegate.resemble.ownership.kinds import SPECS, Kind
from voicegate.resemble.ownership.repository import OwnedResource
from voicegate.resemble.voices import repository as voices_repository
from voicegate.resemble.voices import subscriptions

if TYPE_CHECKING:  # the catalogue applies this module's rule, so only its type is named here
    from voicegate.resemble.voices.catalogue import VoiceCatalogue

VOICE_NOT_FOUND = f"{SPECS[Kind.VOICE].label} not found"


class Holder(StrEnum):
    """Why the caller may use a voice."""

    CALLER = "caller"
    """The caller created it here."""
    STOCK = "stock"
    """One of Resemble's library voices, which nobody here owns."""


@dataclass(frozen=True)
class VoiceAccess:
    """The caller may use `voice_uuid`; `resource` is the caller's ownership row when they own it."""

    voice_uuid: str
    holder: Holder
    resource: OwnedResource | None = None

    @property
    def resource_id(self) -> str | None:
        return self.resource.id if self.resource else None


def is_stock_source(source: object) -> bool:
    """Whether Resemble's `source` marks a library voice ("Resemble Voice Library"); custom, missing or anything
    else is not, so a voice the gateway cannot place stays hidden."""
    if not isinstance(source, str):
        return False
    mark = source.casefold()
    return "library" in mark and "custom" not in mark


def holder_of(user_id: str, owner_id: str | None, *, stock: bool) -> Holder | None:
    """The rule: `user_id` may use a voice owned by `owner_id` (None: nobody here) and marked `stock`, or not."""
    if owner_id is not None:
        return Holder.CALLER if owner_id == user_id else None
    return Holder.STOCK if stock else None


async def ensure_usable(session: AsyncSession, catalogue: VoiceCatalogue, user_id: str, voice_uuid: str) -> VoiceAccess:
    """The caller's right to use `voice_uuid`, or 404. Costs one indexed lookup of the voice's owner; only a voice
    nobody owns consults the catalogue snapshot (cached), which says whether it is stock."""
    owner = await repository.owner_of(session, Kind.VOICE, voice_uuid)
    if session.in_transaction():  # end the read: upstream calls follow, and SQLite cannot upgrade a stale read
        await session.commit()
    stock = owner is None and (await catalogue.snapshot()).is_stock(voice_uuid)
    holder = holder_of(user_id, owner.user_id if owner else None, stock=stock)
    if holder is None:
        raise NotFound(VOICE_NOT_FOUND)
    return VoiceAccess(voice_uuid, holder, owner if holder is Holder.CALLER else None)


async def ensure_speakable(
    session: AsyncSession, catalogue: VoiceCatalogue, rate_card: RateCard, user_id: str, voice_uuid: str
) -> VoiceAccess:
    """`ensure_usable`, and for the caller's own voice, that its month is paid: a suspended voice answers 402
    (after one more try to pay, in case credit is back). Every route that makes speech with a voice calls this."""
    granted = await ensure_usable(session, catalogue, user_id, voice_uuid)
    if granted.resource is not None:
        state = await voices_repository.state_of(session, granted.resource.id)
        if session.in_transaction():
            await session.commit()
        if state is not None:
            await subscriptions.ensure_paid(session, rate_card, state)
    return granted
