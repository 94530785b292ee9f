"""`voicegate simulator` as an operator starts it: the Resemble plan and the voice-design answer shape are chosen on
the command line (Flex and the array shape unless told otherwise)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from tests.e2e.conftest import SIM_KEY, Stack
from tests.e2e.servers import Server, free_port, serve_together
from voicegate.cli.__main__ import app

pytestmark = pytest.mark.e2e

AUTH = {"Authorization": "Bearer any-key"}
STACK_AUTH = {"Authorization": f"Bearer {SIM_KEY}"}


def create_voice(base: str) -> httpx.Response:
    return httpx.post(f"{base}/api/v2/voices", json={"name": "Ada", "consent": "I agree."}, headers=AUTH)


def design(base: str) -> httpx.Response:
    return httpx.post(f"{base}/api/v2/voice-design", json={"user_prompt": "A calm, low voice"}, headers=AUTH)


def test_the_plan_and_the_voice_design_shape_come_from_the_command_line(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = ["simulator", "--port", str(port), "--plan", "business", "--voice-design-shape", "object"]
    with serve_together(Server(args, {}, f"{base}/_sim/plan", tmp_path / "simulator.log")):
        assert httpx.get(f"{base}/_sim/plan").json() == {"plan": "business"}
        created = create_voice(base)
        assert created.status_code == 200, created.text
        answer = design(base)
        assert answer.status_code == 200, answer.text
        candidates = answer.json()["voice_candidates"]
        assert isinstance(candidates, dict)
        assert [sample["sample_index"] for sample in candidates["samples"]] == [0, 1, 2]

        httpx.put(f"{base}/_sim/plan", json={"plan": "flex"}).raise_for_status()
        for refused in (create_voice(base), design(base)):
            assert refused.status_code == 403
            assert "Business plan" in refused.json()["message"]


def test_without_options_it_plays_a_flex_account_with_the_array_shape(stack: Stack) -> None:
    """The shared stack's simulator is started with neither option (every test that switches it switches back)."""
    assert httpx.get(f"{stack.simulator}/_sim/plan").json() == {"plan": "flex"}
    assert httpx.get(f"{stack.simulator}/_sim/voice-design/shape").json() == {"shape": "array"}
    refused = httpx.post(f"{stack.simulator}/api/v2/voices", json={"name": "Ada"}, headers=STACK_AUTH)
    assert refused.status_code == 403


@pytest.mark.parametrize(
    ("option", "value"), [("--plan", "enterprise"), ("--voice-design-shape", "nested"), ("--plan", "")]
)
def test_an_unknown_choice_is_refused_before_anything_starts(option: str, value: str) -> None:
    result = CliRunner().invoke(app, ["simulator", "--port", "0", option, value])
    assert result.exit_code == 2
    assert option in result.output
