from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.servers import free_port, serve
from tests.services import sibling_database

SIM_KEY = "e2e-simulator-key"
ADMIN_KEY = "e2e-admin-key"
WEBHOOK_SECRET = "e2e-webhook-secret"


@dataclass(frozen=True)
class Stack:
    gateway: str
    simulator: str

    def new_user(self, credits: str = "5.00", tier: str = "free") -> dict:
        response = httpx.post(
            f"{self.gateway}/api/v1/admin/users",
            json={"email": f"e2e-{uuid.uuid4().hex}@example.com", "credits_usd": credits, "tier": tier},
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    def fault(self, **spec: object) -> None:
        httpx.post(f"{self.simulator}/_sim/faults", json=spec).raise_for_status()

    def balance(self, api_key: str) -> str:
        response = httpx.get(f"{self.gateway}/api/v1/user/usage", headers={"Authorization": f"Bearer {api_key}"})
        return str(response.json()["credits_usd"])


@pytest.fixture(scope="session")
def stack(
    tmp_path_factory: pytest.TempPathFactory,
    database_url: str,
    redis_url: str | None,
    storage_settings: dict[str, object],
) -> Iterator[Stack]:
    logs = tmp_path_factory.mktemp("e2e-logs")
    sim_port, gw_port = free_port(), free_port()
    simulator = f"http://127.0.0.1:{sim_port}"
    gateway = f"http://127.0.0.1:{gw_port}"
    env = {
        "DATABASE_URL": sibling_database(database_url, "e2e"),
        "RESEMBLE_API_KEY": SIM_KEY,
        "RESEMBLE_BASE_URL": f"{simulator}/api/v2",
        "RESEMBLE_SYNTH_URL": simulator,
        "ADMIN_API_KEY": ADMIN_KEY,
        "JWT_SECRET": "e2e" * 16,
        "PUBLIC_BASE_URL": gateway,
        "VAR_DIR": str(tmp_path_factory.mktemp("e2e-var")),
        # Paid users get a tight STT cap so the OpenAI SDK's RateLimitError is reachable in two calls.
        "RESEMBLE_RATE_LIMITS": json.dumps({"tts": "6/minute", "paid": {"stt": "2/minute"}}),
        "RESEMBLE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "OUTBOUND_ALLOW_PRIVATE_NETWORKS": "true",
        "JOB_POLL_EVERY_S": "2",
        **{key.upper(): str(value) for key, value in storage_settings.items()},
    }
    if redis_url:
        env["REDIS_URL"] = redis_url
    with (
        serve(
            [
                "simulator",
                "--port",
                str(sim_port),
                "--api-key",
                SIM_KEY,
                "--job-delay",
                "0.3",
                "--webhook-secret",
                WEBHOOK_SECRET,
            ],
            {},
            f"{simulator}/_sim/requests",
            Path(logs / "simulator.log"),
        ),
        serve(["serve", "--port", str(gw_port)], env, f"{gateway}/healthz", Path(logs / "gateway.log")),
    ):
        yield Stack(gateway=gateway, simulator=simulator)
