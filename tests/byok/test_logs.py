"""The user's own key never reaches a log line (our JSON output, or what pytest's handler captures) nor an error."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from tests.factories import create_customer
from tests.logs.conftest import JsonGateway, start_json_gateway
from tests.resemble.jobs.helpers import submit, upload, wait_terminal
from voicegate.config import Settings
from voicegate.logging import redact, redact_secrets

from .conftest import ACCOUNT_B_KEY, BYOK, synthesize

WRONG_KEY = "rsm-wrong-key-value-7777"


@pytest.fixture
async def gateway(settings: Settings) -> AsyncIterator[JsonGateway]:
    async for running in start_json_gateway(settings):
        yield running


async def test_the_key_is_in_no_log_line_and_no_response(gateway: JsonGateway, caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.DEBUG)
    client = gateway.client
    async with gateway.app.state.resources.sessionmaker() as session:
        customer = await create_customer(session)
    responses = [
        await client.put(BYOK, json={"api_key": WRONG_KEY}, headers=customer.headers),
        await client.put(BYOK, json={"api_key": ACCOUNT_B_KEY, "extra": 1}, headers=customer.headers),
        await client.put(BYOK, json={"api_key": ACCOUNT_B_KEY}, headers=customer.headers),
        await synthesize(client, customer),
    ]
    source = await upload(client, customer)
    job = (await submit(client, customer, "stt", source["url"])).json()
    await wait_terminal(client, customer, "stt", job["job_id"])

    assert [r.status_code for r in responses] == [422, 422, 200, 200]
    assert gateway.logs.events("byok_key_stored")  # the lines were captured
    for secret in (ACCOUNT_B_KEY, WRONG_KEY, ACCOUNT_B_KEY[:-4]):
        assert secret not in gateway.logs.text
        assert secret not in caplog.text
        assert all(secret not in response.text for response in responses)


def test_fields_and_text_named_like_a_key_are_redacted():
    line = redact_secrets(
        None, "info", {"event": "x", "api_key": "anything", "body": {"byok_api_key": "k"}, "note": '{"api_key": "v1"}'}
    )

    assert line == {
        "event": "x",
        "api_key": "[redacted]",
        "body": {"byok_api_key": "[redacted]"},
        "note": '{"api_key": "[redacted]"}',
    }
    assert redact("GET /x?byok_api_key=abc123&page=1") == "GET /x?byok_api_key=[redacted]&page=1"
