from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import Customer, create_customer


@pytest.fixture
async def customer(session: AsyncSession) -> Customer:
    """Enough credit for a build's first month, an enrollment, a synthesis and two jobs."""
    return await create_customer(session, credits="20.00")


@pytest.fixture
async def other(session: AsyncSession) -> Customer:
    return await create_customer(session, credits="5.00")
