"""Outbound webhooks' background work: attempt every due delivery (see `service` for the claim that makes two
concurrent sweeps send each attempt once)."""

from __future__ import annotations

from voicegate.resources import Resources
from voicegate.webhooks import service


async def deliver_due(resources: Resources) -> int:
    settings = resources.settings
    return await service.deliver_due(
        resources.sessionmaker,
        resources.webhook_http,  # the hardened client: no proxies from the environment, no redirects
        allow_private=settings.outbound_allow_private_networks,
        max_attempts=settings.webhook_delivery_max_attempts,
    )
