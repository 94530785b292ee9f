"""The per-user cap applies to calls with the user's own key, in a window of its own (`tts:byok`): that traffic
does not use up the user's share of the gateway's key, nor anyone else's."""

from __future__ import annotations

from tests.factories import create_customer
from voicegate.config import Settings

from .conftest import BYOK, gateway, store_key, synthesize


async def test_the_cap_applies_with_byok_and_leaves_shared_key_traffic_alone(settings: Settings):
    async with gateway(settings.model_copy(update={"resemble_rate_limits": {"tts": "2/minute"}})) as (app, client, _):
        async with app.state.resources.sessionmaker() as session:
            own, shared = await create_customer(session), await create_customer(session)
        await store_key(client, own)

        assert [(await synthesize(client, own)).status_code for _ in range(3)] == [200, 200, 429]
        limited = await synthesize(client, own)
        assert limited.status_code == 429
        assert "Retry-After" in limited.headers

        assert [(await synthesize(client, shared)).status_code for _ in range(2)] == [200, 200]
        assert (await client.delete(BYOK, headers=own.headers)).status_code == 204
        # Back on the shared key, the same user has their whole shared-key window: BYOK calls did not count in it.
        assert [(await synthesize(client, own)).status_code for _ in range(3)] == [200, 200, 429]


async def test_byok_calls_are_limited_per_user(settings: Settings):
    async with gateway(settings.model_copy(update={"resemble_rate_limits": {"tts": "1/minute"}})) as (app, client, _):
        async with app.state.resources.sessionmaker() as session:
            first, second = await create_customer(session), await create_customer(session)
        for customer in (first, second):
            await store_key(client, customer)  # the same Resemble account behind both
        assert (await synthesize(client, first)).status_code == 200
        assert (await synthesize(client, second)).status_code == 200  # each user has their own window
        assert (await synthesize(client, first)).status_code == 429
