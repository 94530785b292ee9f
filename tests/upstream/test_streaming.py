"""The upstream stream connector: the in-memory bridge `make run` uses to reach the in-process simulator, and the
network client's failures. The relay itself is tested end to end in `tests/resemble/streaming`."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI

from tests.e2e.servers import free_port
from voicegate.errors import UpstreamError
from voicegate.simulator import close_simulator_app, create_simulator_app
from voicegate.upstream.streaming import StreamClosed, StreamConnector

TIMEOUT_S = 5.0


@pytest.fixture
async def simulator() -> AsyncIterator[FastAPI]:
    app = create_simulator_app(api_key="bridge-key", plan="business")
    yield app
    await close_simulator_app(app)


def bridge(app: FastAPI, key: str = "bridge-key") -> StreamConnector:
    return StreamConnector(url="unused", api_key=key, connect_timeout_s=TIMEOUT_S, app=app)


async def test_the_bridge_speaks_the_stream_protocol_with_the_in_process_simulator(simulator: FastAPI):
    connection = await bridge(simulator).connect()
    try:
        for request_id in (3, 4):  # two utterances on one connection
            await connection.send_json(
                {"voice_uuid": "55592656", "data": "Hello over the bridge.", "request_id": request_id}
            )
            frames = [json.loads(await connection.receive(TIMEOUT_S))]
            while frames[-1]["type"] == "audio":
                frames.append(json.loads(await connection.receive(TIMEOUT_S)))
            assert [f["type"] for f in frames[-2:]] == ["audio", "audio_end"]
            assert {f["request_id"] for f in frames} == {request_id}
    finally:
        await connection.close()
    log = simulator.state.simulator.requests()
    assert [entry["status"] for entry in log] == [101, 200, 200]
    assert log[0]["headers"]["authorization"] == "Bearer <redacted>"


async def test_a_wrong_key_is_a_fatal_error_frame_then_closed(simulator: FastAPI):
    connection = await bridge(simulator, key="wrong").connect()
    frame = json.loads(await connection.receive(TIMEOUT_S))
    assert (frame["error_name"], frame["status_code"]) == ("ConnectionFailure", 401)
    with pytest.raises(StreamClosed) as closed:
        await connection.receive(TIMEOUT_S)
    assert closed.value.code == 1008
    await connection.close()


async def test_a_refused_handshake_is_an_upstream_error():
    flex = create_simulator_app(api_key="bridge-key", plan="flex")
    try:
        with pytest.raises(UpstreamError):
            await bridge(flex).connect()
    finally:
        await close_simulator_app(flex)


async def test_nothing_listening_is_an_upstream_error():
    connector = StreamConnector(url=f"ws://127.0.0.1:{free_port()}/stream", api_key="k", connect_timeout_s=TIMEOUT_S)
    with pytest.raises(UpstreamError) as failed:
        await connector.connect()
    assert failed.value.status_code == 502
