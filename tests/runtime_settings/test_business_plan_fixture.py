"""The `business_plan` fixture other tests use: simulator on the Business plan, gateway gate open."""

from __future__ import annotations

import httpx
import pytest

from voicegate.config import Settings

from .conftest import setting

SIM_AUTH = {"Authorization": "Bearer any-key"}


async def test_the_in_process_simulator_starts_on_flex(client: httpx.AsyncClient, simulator: httpx.AsyncClient) -> None:
    assert (await simulator.get("/_sim/plan")).json() == {"plan": "flex"}
    assert (await simulator.post("/api/v2/voices", json={"name": "x"}, headers=SIM_AUTH)).status_code == 403
    assert (await setting(client))["value"] is False


@pytest.mark.usefixtures("business_plan")
async def test_business_plan_opens_both(client: httpx.AsyncClient, simulator: httpx.AsyncClient) -> None:
    assert (await simulator.get("/_sim/plan")).json() == {"plan": "business"}
    assert (await simulator.post("/api/v2/voices", json={"name": "x"}, headers=SIM_AUTH)).status_code != 403
    assert (await setting(client))["value"] is True


class TestSimulatorPlanSetting:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.model_copy(update={"simulator_plan": "business"})

    async def test_simulator_plan_picks_the_in_process_simulators_plan(self, simulator: httpx.AsyncClient) -> None:
        assert (await simulator.get("/_sim/plan")).json() == {"plan": "business"}
