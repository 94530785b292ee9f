"""`voicegate simulator` as an operator starts it: the Resemble plan and the voice-design answer shape are chosen on
the command line (Flex and the array shape unless told otherwise)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from tests.e2e.servers import Server, free_port, serve_together
from voicegate.cli.__main__ import app

pytestmark = pytest.mark.e2e

AUTH = {"Authorization": "Bearer any-key"}


def create_voice(base: str) -> httpx.Response:
    return httpx.post(f"{base}/api/v2/voices", json={"name": "Ada", "consent": "I agree."}, headers=AUTH)


def design(base: str) -> httpx.Response:
    return httpx.post(f"{base}/api/v2/voice-design", json={"user_prompt": "A calm, low voice"}, headers=AUTH)


def test_the_plan_and_the_voice_design_shape_come_from_the_command_line(tmp_path: Path) -> None:
    plain_port, business_port = free_port(), free_port()
    plain, business = f"http://127.0.0.1:{plain_port}", f"http://127.0.0.1:{business_port}"
    with serve_together(
        Server(["simulator", "--port", str(plain_port)], {}, f"{plain}/_sim/plan", tmp_path / "plain.log"),
        Server(
            ["simulator", "--port", str(business_port), "--plan", "business", "--voice-design-shape", "object"],
            {},
            f"{business}/_sim/plan",
            tmp_path / "business.log",
        ),
    ):
        assert httpx.get(f"{plain}/_sim/plan").json() == {"plan": "flex"}
        for refused in (create_voice(plain), design(plain)):
            assert refused.status_code == 403
            assert "Business plan" in refused.json()["message"]

        assert httpx.get(f"{business}/_sim/plan").json() == {"plan": "business"}
        created = create_voice(business)
        assert created.status_code == 200, created.text
        answer = design(business)
        assert answer.status_code == 200, answer.text
        candidates = answer.json()["voice_candidates"]
        assert isinstance(candidates, dict)
        assert [sample["sample_index"] for sample in candidates["samples"]] == [0, 1, 2]

        # The default shape, once the plan lets the call through.
        httpx.put(f"{plain}/_sim/plan", json={"plan": "business"}).raise_for_status()
        assert isinstance(design(plain).json()["voice_candidates"], list)


@pytest.mark.parametrize(
    ("option", "value"), [("--plan", "enterprise"), ("--voice-design-shape", "nested"), ("--plan", "")]
)
def test_an_unknown_choice_is_refused_before_anything_starts(option: str, value: str) -> None:
    result = CliRunner().invoke(app, ["simulator", "--port", "0", option, value])
    assert result.exit_code == 2
    assert option in result.output
