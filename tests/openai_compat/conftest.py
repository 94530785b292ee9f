from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import Customer, create_customer


@pytest.fixture
async def customer(session: AsyncSession) -> Customer:
    return await create_customer(session, credits="10.00")
