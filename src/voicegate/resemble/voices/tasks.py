"""Background work of cloned voices: monthly renewals, and noticing builds that finished.

Both open their own sessions, re-check state and claim work with unique rows or conditional updates, so running
them twice, or in several processes at once, changes nothing more than running them once.
"""

from __future__ import annotations

import logging
from datetime import datetime

from voicegate.errors import log_item_failure
from voicegate.resemble.ownership.calls import CallName, Scope, attempt, is_gone
from voicegate.resemble.ownership.kinds import SPECS, Kind
from voicegate.resemble.voices import repository, subscriptions
from voicegate.resemble.voices.service import observe_build
from voicegate.resemble.voices.subscriptions import RenewalReport
from voicegate.resources import Resources

log = logging.getLogger(__name__)

RENEW_EVERY_S = 600.0
BUILD_REFRESH_BATCH = 100


async def renew_voice_subscriptions(resources: Resources, as_of: datetime | None = None) -> RenewalReport:
    """Charge each live voice's current month once; suspend the voices whose owners cannot pay it."""
    return await subscriptions.renew_all(resources.sessionmaker, resources.rate_card, as_of)


async def refresh_building_voices(resources: Resources) -> int:
    """Ask Resemble about every voice still building; a finished one keeps its model under `voice-models/`."""
    async with resources.sessionmaker() as session:
        building = await repository.building_voices(session, limit=BUILD_REFRESH_BATCH)
    for voice in building:
        try:
            async with resources.sessionmaker() as session:
                scope = Scope(session=session, upstream=resources.upstream, user_id=voice.user_id)
                path = SPECS[Kind.VOICE].item_path(voice.upstream_id, None)
                outcome = await attempt(scope, "GET", path, CallName("voices", "refresh_voice"))
                if outcome.error is not None:
                    if not is_gone(outcome.error):
                        raise outcome.error
                    continue  # deleted upstream: the next read of it retires the row
                item = (outcome.result or {}).get("item")
                if isinstance(item, dict):
                    await observe_build(session, resources.storage, voice, item)
        except Exception as exc:
            log_item_failure(log, "voice_refresh_failed", exc, voice_uuid=voice.upstream_id)
    return len(building)
