"""The simulator's streaming WebSocket: recoverable errors keep the socket open, and every message is logged with
its outcome. Driven through the gateway's in-memory bridge (the path `make run` takes)."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI

from voicegate.simulator import close_simulator_app, create_simulator_app
from voicegate.upstream.streaming import StreamConnection, StreamConnector

TIMEOUT_S = 5.0


@pytest.fixture
async def stream() -> AsyncIterator[tuple[FastAPI, StreamConnection]]:
    app = create_simulator_app(api_key="k", plan="business")
    connection = await StreamConnector(url="unused", api_key="k", connect_timeout_s=TIMEOUT_S, app=app).connect()
    yield app, connection
    await connection.close()
    await close_simulator_app(app)


async def ask(connection: StreamConnection, message: dict) -> list[dict]:
    await connection.send_json(message)
    frames = [json.loads(await connection.receive(TIMEOUT_S))]
    while frames[-1]["type"] == "audio":
        frames.append(json.loads(await connection.receive(TIMEOUT_S)))
    return frames


async def test_errors_are_recoverable_and_logged_with_their_outcome(stream: tuple[FastAPI, StreamConnection]):
    app, connection = stream
    replies = [
        await ask(connection, {"data": "no voice"}),
        await ask(connection, {"voice_uuid": "nope", "data": "Unknown voice."}),
        await ask(connection, {"voice_uuid": "55592656", "data": "x", "output_format": "mp3"}),
        await ask(connection, {"voice_uuid": "55592656", "data": "At last, a voice that works.", "sample_rate": 8000}),
    ]
    assert [(r[-1]["type"], r[-1].get("status_code")) for r in replies] == [
        ("error", 400),
        ("error", 404),
        ("error", 400),
        ("audio_end", None),
    ]
    audio = b"".join(base64.b64decode(frame["audio_content"]) for frame in replies[-1][:-1])
    assert audio[:4] == b"RIFF"
    assert (len(audio) - 44) / 2 / 8000 == pytest.approx(len("At last, a voice that works.") * 0.06, abs=0.01)
    statuses = [entry["status"] for entry in app.state.simulator.requests()]
    assert statuses == [101, 400, 404, 400, 200]
