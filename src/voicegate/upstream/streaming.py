"""The gateway's client for Resemble's streaming TTS WebSocket (`RESEMBLE_STREAM_URL`).

One `StreamConnection` per user socket, opened on that socket's first utterance with our key as `Authorization:
Bearer` (the user's credential never leaves the gateway). Against Resemble, or a simulator served over HTTP, it is
a `websockets` client connection; with the in-process simulator (`RESEMBLE_API_KEY` unset, as in `make run`) the
same protocol runs over an in-memory ASGI bridge to the simulator app, as HTTP calls run over `httpx.ASGITransport`.

Failures are gateway errors: a refused or failed connect is `UpstreamError` (502), a connect or frame that does
not arrive in time is `UpstreamTimeout` (502); a connection that closes under us raises `StreamClosed`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any, Protocol

from starlette.types import ASGIApp, Message
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from voicegate.errors import UpstreamError, UpstreamTimeout

log = logging.getLogger(__name__)

SIMULATOR_STREAM_HOST = "resemble-simulator.internal"
STREAM_PATH = "/stream"
MAX_FRAME_BYTES = 16 * 1024 * 1024
CLOSE_WAIT_S = 2.0


class StreamClosed(Exception):
    """The upstream socket closed; `code` is its close code (1006 when it simply went away)."""

    def __init__(self, code: int) -> None:
        super().__init__(f"upstream stream closed ({code})")
        self.code = code


class StreamConnection(Protocol):
    async def send_json(self, message: dict[str, Any]) -> None: ...

    async def receive(self, timeout_s: float) -> str | bytes:
        """The next frame; TimeoutError when none arrives within `timeout_s`, StreamClosed when the socket closed."""
        ...

    async def close(self) -> None: ...


class WebsocketsConnection:
    def __init__(self, connection: ClientConnection) -> None:
        self._connection = connection

    async def send_json(self, message: dict[str, Any]) -> None:
        try:
            await self._connection.send(json.dumps(message))
        except ConnectionClosed as exc:
            raise StreamClosed(exc.rcvd.code if exc.rcvd else 1006) from exc

    async def receive(self, timeout_s: float) -> str | bytes:
        try:
            return await asyncio.wait_for(self._connection.recv(), timeout_s)
        except ConnectionClosed as exc:
            raise StreamClosed(exc.rcvd.code if exc.rcvd else 1006) from exc

    async def close(self) -> None:
        with contextlib.suppress(Exception):  # closing a broken socket has nothing left to report
            await asyncio.wait_for(self._connection.close(), CLOSE_WAIT_S)


class AsgiConnection:
    """A WebSocket session with an ASGI app in this process: the app runs as a task fed from two queues."""

    def __init__(self, app: ASGIApp, headers: list[tuple[bytes, bytes]]) -> None:
        self._app = app
        self._scope: dict[str, Any] = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "scheme": "ws",
            "http_version": "1.1",
            "path": STREAM_PATH,
            "raw_path": STREAM_PATH.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", SIMULATOR_STREAM_HOST.encode()), *headers],
            "client": ("127.0.0.1", 0),
            "server": (SIMULATOR_STREAM_HOST, 80),
            "subprotocols": [],
            "state": {},
        }
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._closed_code: int | None = None

    async def open(self, timeout_s: float) -> None:
        self._to_app.put_nowait({"type": "websocket.connect"})
        self._task = asyncio.create_task(self._run())
        try:
            first = await asyncio.wait_for(self._from_app.get(), timeout_s)
        except TimeoutError:
            await self.close()
            raise
        if first["type"] != "websocket.accept":
            await self.close()
            raise UpstreamError(extra={"reason": "stream handshake refused"})

    async def _run(self) -> None:
        try:
            await self._app(self._scope, self._to_app.get, self._from_app.put)
        except Exception:
            log.exception("in_process_stream_failed")
        finally:
            self._from_app.put_nowait({"type": "websocket.close", "code": 1006})

    async def send_json(self, message: dict[str, Any]) -> None:
        if self._closed_code is not None:
            raise StreamClosed(self._closed_code)
        self._to_app.put_nowait({"type": "websocket.receive", "text": json.dumps(message)})

    async def receive(self, timeout_s: float) -> str | bytes:
        if self._closed_code is not None:
            raise StreamClosed(self._closed_code)
        message = await asyncio.wait_for(self._from_app.get(), timeout_s)
        if message["type"] == "websocket.close":
            self._closed_code = int(message.get("code", 1000))
            raise StreamClosed(self._closed_code)
        text = message.get("text")
        return text if text is not None else bytes(message.get("bytes") or b"")

    async def close(self) -> None:
        self._closed_code = self._closed_code or 1000
        self._to_app.put_nowait({"type": "websocket.disconnect", "code": 1000})
        if self._task is not None and not self._task.done():
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._task), CLOSE_WAIT_S)
            self._task.cancel()


class StreamConnector:
    """Opens upstream stream connections: to `url` over the network, or to `app` (the in-process simulator)."""

    def __init__(self, *, url: str, api_key: str, connect_timeout_s: float, app: ASGIApp | None = None) -> None:
        self._url = url
        self._api_key = api_key
        self._connect_timeout_s = connect_timeout_s
        self._app = app

    async def connect(self) -> StreamConnection:
        authorization = f"Bearer {self._api_key}"
        if self._app is not None:
            bridge = AsgiConnection(self._app, [(b"authorization", authorization.encode())])
            try:
                await bridge.open(self._connect_timeout_s)
            except TimeoutError as exc:
                raise UpstreamTimeout(extra={"reason": "stream connect timed out"}) from exc
            return bridge
        try:
            connection = await connect(
                self._url,
                additional_headers={"Authorization": authorization},
                open_timeout=self._connect_timeout_s,
                max_size=MAX_FRAME_BYTES,
                proxy=None,
            )
        except TimeoutError as exc:
            raise UpstreamTimeout(extra={"reason": "stream connect timed out"}) from exc
        except InvalidStatus as exc:
            status = exc.response.status_code
            raise UpstreamError(extra={"reason": "stream handshake refused", "upstream_status": status}) from exc
        except (InvalidHandshake, InvalidURI, OSError) as exc:
            raise UpstreamError(extra={"reason": f"stream connect failed: {type(exc).__name__}"}) from exc
        return WebsocketsConnection(connection)
