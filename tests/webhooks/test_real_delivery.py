"""A job's result reaches a real HTTP receiver on a socket, as a user would run one: submitted with `callback_uri`
through the API, delivered by the maintenance task over the hardened client, and verified with the Standard
Webhooks reference library. Proxy variables in the environment do not divert it (`trust_env=False`)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks.webhooks import Webhook

from tests.e2e.servers import free_port
from tests.factories import create_customer
from tests.http_receiver import Receiver, receiver_fixture  # noqa: F401 - the `receiver` fixture
from tests.resemble.jobs.helpers import submit, upload, wait_terminal
from voicegate.app import create_app
from voicegate.config import Settings
from voicegate.webhooks import outbound
from voicegate.webhooks.tasks import deliver_due  # the real task: this package's conftest idles the loop's

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@contextlib.contextmanager
def proxies_pointing_at(proxy_url: str) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as env:
        for name in PROXY_VARIABLES:
            env.setenv(name, proxy_url)
        for name in ("NO_PROXY", "no_proxy"):
            env.delenv(name, raising=False)
        yield


async def test_a_job_result_reaches_a_real_receiver_and_the_reference_library_verifies_it(
    settings: Settings, session: AsyncSession, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead_proxy = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    trusting: list[httpx.AsyncClient] = []
    real_build_client = outbound.build_client

    def build_client_with_proxies_set() -> httpx.AsyncClient:
        # httpx reads proxy variables once, when a client is built; setting them only around this build keeps
        # them away from the rest of the stack (boto3 would send S3 traffic to the dead proxy too).
        with proxies_pointing_at(dead_proxy):
            trusting.append(httpx.AsyncClient(timeout=5))  # the control: a client that honours them
            return real_build_client()

    monkeypatch.setattr(outbound, "build_client", build_client_with_proxies_set)
    app = create_app(settings.model_copy(update={"outbound_allow_private_networks": True}))

    async with app.router.lifespan_context(app), contextlib.AsyncExitStack() as stack:
        [control] = trusting
        stack.push_async_callback(control.aclose)
        with pytest.raises(httpx.TransportError):
            await control.post(receiver.url, content=b"{}")  # a client trusting the environment never gets there
        assert receiver.received == []

        http = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
        )
        customer = await create_customer(session)
        source = await upload(http, customer)
        created = await submit(http, customer, "stt", source["url"], callback_uri=receiver.url)
        assert created.status_code == 201, created.text
        done = await wait_terminal(http, customer, "stt", created.json()["job_id"])

        await deliver_due(app.state.resources)  # the scheduler may have sent it already: either way, once

        secret = (await http.get("/api/v1/webhooks/secret", headers=customer.headers)).json()["secret"]
        deliveries = (await http.get("/api/v1/webhooks/deliveries", headers=customer.headers)).json()

    [(headers, body)] = receiver.received
    event = Webhook(secret).verify(body, headers)
    assert event == json.loads(body)
    assert event["type"] == "job.completed"
    assert event["data"]["job_id"] == done["job_id"]
    assert event["data"]["billing"] == done["billing"]
    [delivery] = deliveries["items"]
    assert (delivery["status"], delivery["attempts"], delivery["last_status_code"]) == ("delivered", 1, 204)
    assert headers["webhook-id"] == delivery["id"]
    assert headers["user-agent"].startswith("voicegate-webhooks/")
    assert headers["content-type"] == "application/json"
