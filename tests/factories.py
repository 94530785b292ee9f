"""Plain async factories: the rows a test needs, made through the same services the product uses."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from voicegate.admin import service as admin_service
from voicegate.db.models import ProviderResembleJob, ProviderResembleRequest, User
from voicegate.kit.ids import new_id
from voicegate.kit.time import utc_now
from voicegate.ratelimit.rules import DEFAULT_TIER, Tier

ADMIN_HEADERS = {"Authorization": "Bearer test-admin-key"}


@dataclass
class Customer:
    user: User
    api_key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


async def create_customer(session: AsyncSession, credits: str = "10.00", tier: Tier = DEFAULT_TIER) -> Customer:
    user, issued = await admin_service.create_user(
        session, email=f"user-{new_id()[:12]}@example.com", credits_usd=Decimal(credits), tier=tier
    )
    await session.commit()
    return Customer(user=user, api_key=issued.plaintext)


async def enable_business_plan(client: httpx.AsyncClient, simulator: httpx.AsyncClient) -> None:
    """Put the in-process simulator on Resemble's Business plan and open the gateway's Business-plan gate.

    Both through HTTP, as an operator would: the simulator's `/_sim/plan` hook and the admin settings API. The gate
    is stored in the database, so the `app` fixture's truncation closes it again after the test. Tests usually
    take the `business_plan` fixture instead (`@pytest.mark.usefixtures("business_plan")`).
    """
    plan = await simulator.put("/_sim/plan", json={"plan": "business"})
    assert plan.status_code == 200, plan.text
    gate = await client.put("/api/v1/admin/settings", json={"business_plan_active": True}, headers=ADMIN_HEADERS)
    assert gate.status_code == 200, gate.text


async def create_job(session: AsyncSession, user_id: str, *, status: str = "pending", upstream_id: str = "up-1") -> str:
    """An STT job row and its request row, written directly (no hold, no usage): the id of the job."""
    request = ProviderResembleRequest(user_id=user_id, capability="stt", operation="stt.submit")
    session.add(request)
    await session.flush()
    job = ProviderResembleJob(
        user_id=user_id,
        request_id=request.id,
        capability="stt",
        status=status,
        upstream_id=upstream_id,
        updated_at=utc_now(),
    )
    session.add(job)
    await session.commit()
    return job.id
