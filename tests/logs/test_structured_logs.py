"""Structured logs through HTTP: every JSON line of a request carries its request id and user id, a call's
`extra=` fields survive, upstream calls carry an upstream request id, and credentials never reach the output."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
import structlog
from sqlalchemy import select

from tests.factories import Customer, create_customer
from tests.resemble.jobs.helpers import submit, upload, wait_terminal
from voicegate.app import create_app
from voicegate.billing.tasks import sweep_holds
from voicegate.config import Settings
from voicegate.db.models import CreditHold, User
from voicegate.logging import build_formatter, configure_logging, redact
from voicegate.storage.base import StorageError

from .conftest import JsonGateway, root_handler, start_json_gateway

SYNTH = "/api/v1/resemble/tts/synthesize"
ADMIN = {"Authorization": "Bearer test-admin-key"}
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z")


async def new_customer(gateway: JsonGateway, credits: str = "10.00") -> Customer:
    async with gateway.app.state.resources.sessionmaker() as session:
        return await create_customer(session, credits=credits)


class TestRequestLines:
    async def test_a_json_line_carries_request_id_user_id_and_the_calls_extras(
        self, gateway: JsonGateway, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        customer = await new_customer(gateway)

        async def broken_put(*_: object, **__: object) -> int:
            raise StorageError("bucket unreachable")

        monkeypatch.setattr(gateway.app.state.resources.storage, "put_bytes", broken_put)
        response = await gateway.client.post(
            SYNTH, json={"voice_uuid": "55592656", "text": "log me"}, headers=customer.headers
        )

        assert response.status_code == 200, response.text
        [line] = gateway.logs.events("storage_put_failed")
        assert line["request_id"] == response.headers["x-request-id"]
        assert line["user_id"] == customer.user.id
        assert line["error"] == "StorageError"  # an `extra=` field
        assert re.fullmatch(r"[0-9a-f]{32}", line["provider_request_id"])
        assert (line["level"], line["logger"]) == ("error", "voicegate.storage.service")
        assert ISO_UTC.fullmatch(line["timestamp"])

    async def test_upstream_call_lines_carry_an_upstream_request_id_per_call(self, gateway: JsonGateway) -> None:
        customer = await new_customer(gateway)

        responses = [
            await gateway.client.post(SYNTH, json={"voice_uuid": "55592656", "text": text}, headers=customer.headers)
            for text in ("one", "two")
        ]

        assert [r.status_code for r in responses] == [200, 200]
        calls = [line for line in gateway.logs.events("upstream_call") if line["operation"] == "synthesize"]
        assert [line["request_id"] for line in calls] == [r.headers["x-request-id"] for r in responses]
        assert {line["user_id"] for line in calls} == {customer.user.id}
        assert all(re.fullmatch(r"[0-9a-f]{32}", line["upstream_request_id"]) for line in calls)
        assert calls[0]["upstream_request_id"] != calls[1]["upstream_request_id"]
        assert (calls[0]["status"], calls[0]["outcome"], calls[0]["attempt"]) == (200, "success", 0)
        # Outside a request nothing is bound, so nothing is carried over to the next line.
        assert structlog.contextvars.get_contextvars() == {}

    async def test_an_upstream_failure_line_names_the_same_upstream_request(self, gateway: JsonGateway) -> None:
        customer = await new_customer(gateway)
        simulator = gateway.app.state.resources.simulator
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=simulator), base_url="http://sim") as sim:
            fault = await sim.post("/_sim/faults", json={"path": "/synthesize", "status": 500})
            assert fault.status_code == 201, fault.text

        response = await gateway.client.post(
            SYNTH, json={"voice_uuid": "55592656", "text": "fail"}, headers=customer.headers
        )

        assert response.status_code == 502
        [failure] = gateway.logs.events("upstream_server_error")
        [call] = [line for line in gateway.logs.events("upstream_call") if line["operation"] == "synthesize"]
        assert (failure["operation"], failure["status"], failure["level"]) == ("synthesize", 500, "warning")
        assert failure["upstream_request_id"] == call["upstream_request_id"]
        assert failure["request_id"] == call["request_id"] == response.headers["x-request-id"]
        assert failure["user_id"] == customer.user.id

    async def test_lines_of_concurrent_requests_keep_their_own_ids(self, gateway: JsonGateway) -> None:
        customers = [await new_customer(gateway) for _ in range(3)]

        async def synthesize(customer: Customer) -> httpx.Response:
            return await gateway.client.post(
                SYNTH, json={"voice_uuid": "55592656", "text": "together"}, headers=customer.headers
            )

        responses = await asyncio.gather(*(synthesize(c) for c in customers))

        calls = [line for line in gateway.logs.events("upstream_call") if line["operation"] == "synthesize"]
        pairs = {(line["request_id"], line["user_id"]) for line in calls}
        assert pairs == {(r.headers["x-request-id"], c.user.id) for r, c in zip(responses, customers, strict=True)}

    async def test_an_unhandled_error_is_logged_with_its_request_id(self, gateway: JsonGateway) -> None:
        async def boom() -> None:
            raise RuntimeError("a bug")

        gateway.app.add_api_route("/boom", boom)

        response = await gateway.client.get("/boom", headers={"X-Request-Id": "trace-500"})

        assert response.status_code == 500
        assert response.json() == {"detail": "Internal server error"}
        assert response.headers["x-request-id"] == "trace-500"
        [line] = gateway.logs.events("unhandled_error")
        assert (line["request_id"], line["path"], line["level"]) == ("trace-500", "/boom", "error")
        assert "RuntimeError: a bug" in line["exception"]


@pytest.fixture
async def slow_job_gateway(settings: Settings) -> AsyncIterator[JsonGateway]:
    # Holds expire at once and the simulator takes a few seconds, so the hold can be swept before the job ends.
    async for running in start_json_gateway(settings, job_hold_ttl_s=0, simulator_job_delay_s=5.0):
        yield running


class TestChargeShortfall:
    async def test_the_line_keeps_its_hold_id_and_amount(self, slow_job_gateway: JsonGateway) -> None:
        gateway = slow_job_gateway
        client = gateway.client
        customer = await new_customer(gateway)
        source = await upload(client, customer)
        created = await submit(client, customer, "stt", source["url"])
        assert created.status_code == 201, created.text

        assert await sweep_holds(gateway.app.state.resources.sessionmaker) >= 1  # the job's hold is released ...
        balance = (await client.get(f"/api/v1/admin/users/{customer.user.id}", headers=ADMIN)).json()["credits_usd"]
        emptied = await client.post(
            f"/api/v1/admin/users/{customer.user.id}/credits", json={"amount_usd": f"-{balance}"}, headers=ADMIN
        )
        assert emptied.status_code == 200, emptied.text  # ... and the credit is gone when the job completes
        done = await wait_terminal(client, customer, "stt", created.json()["job_id"])

        assert done["status"] == "completed"
        [line] = gateway.logs.events("charge_shortfall")
        async with gateway.app.state.resources.sessionmaker() as db:
            hold = await db.scalar(select(CreditHold).where(CreditHold.user_id == customer.user.id))
            left = await db.scalar(select(User.balance_usd).where(User.id == customer.user.id))
        assert hold is not None
        assert line["hold_id"] == hold.id
        assert Decimal(line["shortfall_usd"]) == hold.shortfall_usd > 0
        assert left == 0
        assert line["level"] == "error"
        assert line["request_id"]


class TestRedaction:
    def test_the_secret_shapes(self) -> None:
        key = "vg_0123456789ab_" + "S" * 30
        text = f"key {key} and Bearer abcdefgh1234 and eyJhbGc.eyJzdWIi.c2lnbmF0dXJl and whsec_{'A' * 44}"

        assert redact(text) == "key [redacted] and [redacted] and [redacted] and [redacted]"

    async def test_credentials_are_scrubbed_from_the_event_every_value_and_the_traceback(
        self, gateway: JsonGateway
    ) -> None:
        key = "vg_0123456789ab_" + "K" * 30
        log = logging.getLogger("voicegate.test")

        log.warning("saw Bearer %s", key, extra={"header": f"Bearer {key}", "nested": {"keys": [key]}})
        try:
            raise ValueError(f"bad key {key}")
        except ValueError:
            log.exception("failed")

        assert key not in gateway.logs.text
        assert key[:16] not in gateway.logs.text
        [warned] = gateway.logs.events("saw [redacted]")
        assert warned["header"] == "[redacted]"
        assert warned["nested"] == {"keys": ["[redacted]"]}
        [failed] = gateway.logs.events("failed")
        assert "ValueError: bad key [redacted]" in failed["exception"]

    async def test_an_api_key_sent_by_a_client_is_never_written(self, gateway: JsonGateway) -> None:
        customer = await new_customer(gateway)

        await gateway.client.post(SYNTH, json={"voice_uuid": "55592656", "text": "hi"}, headers=customer.headers)
        await gateway.client.get("/api/v1/user/usage", headers={"Authorization": f"Bearer {customer.api_key}x"})

        assert gateway.logs.lines()
        assert customer.api_key not in gateway.logs.text


class TestOtherLoggers:
    async def test_uvicorn_records_are_rendered_without_their_colour_copy(self, gateway: JsonGateway) -> None:
        logging.getLogger("uvicorn.error").warning(
            "Invalid HTTP request received.", extra={"color_message": "\x1b[31mInvalid\x1b[0m"}
        )

        [line] = gateway.logs.events("Invalid HTTP request received.")
        assert line["logger"] == "uvicorn.error"
        assert "color_message" not in line
        assert "message" not in line

    async def test_money_and_times_in_extras_are_exact_text(self, gateway: JsonGateway) -> None:
        when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
        logging.getLogger("voicegate.test").info("priced", extra={"amount_usd": Decimal("0.100001"), "at": when})

        [line] = gateway.logs.events("priced")
        assert (line["amount_usd"], line["at"]) == ("0.100001", "2026-01-02T03:04:05+00:00")

    async def test_a_structlog_logger_lands_in_the_same_stream(self, gateway: JsonGateway) -> None:
        with structlog.contextvars.bound_contextvars(request_id="r-1"):
            structlog.stdlib.get_logger("voicegate.test").info("native_event", count=3)

        [line] = gateway.logs.events("native_event")
        assert (line["count"], line["request_id"], line["level"], line["logger"]) == (
            3,
            "r-1",
            "info",
            "voicegate.test",
        )

    def test_development_lines_are_readable_text(self) -> None:
        record = logging.LogRecord(
            "voicegate.webhooks.service", logging.WARNING, __file__, 1, "webhook_attempt", (), None
        )
        record.delivery_id = "d-1"

        rendered = build_formatter("console").format(record)

        assert "webhook_attempt" in rendered
        assert "delivery_id=d-1" in rendered
        assert "warning" in rendered
        assert not rendered.startswith("{")


def test_production_mode_writes_json_lines(settings: Settings) -> None:
    production = settings.model_copy(update={"voicegate_env": "production", "log_format": None})
    handler = root_handler()
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        create_app(production)
        logging.getLogger("voicegate.test").warning("in_production", extra={"hold_id": "h-1"})
    finally:
        if previous is not None:
            handler.setStream(previous)
        configure_logging(settings.log_level, settings.effective_log_format)

    [line] = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert (line["event"], line["hold_id"], line["level"]) == ("in_production", "h-1", "warning")
