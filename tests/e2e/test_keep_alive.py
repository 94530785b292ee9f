"""An idle keep-alive connection outlives the clients' own pool expiry, so a reused connection is never dropped."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

from tests.e2e.conftest import Stack

REQUEST = b"GET /healthz HTTP/1.1\r\nHost: gateway\r\nConnection: keep-alive\r\n\r\n"


def answer(connection: socket.socket) -> bytes:
    received = b""
    while b"\r\n\r\n" not in received or not received.rstrip().endswith(b"}"):
        chunk = connection.recv(65536)
        if not chunk:
            return received
        received += chunk
    return received


def test_an_idle_connection_is_still_served_after_the_clients_pool_expiry(stack: Stack) -> None:
    where = urlsplit(stack.gateway)
    with socket.create_connection((where.hostname, where.port), timeout=10) as connection:
        connection.sendall(REQUEST)
        assert answer(connection).startswith(b"HTTP/1.1 200")
        time.sleep(6.5)  # past httpx's 5 s keepalive_expiry, and uvicorn's old 5 s default
        connection.sendall(REQUEST)
        assert answer(connection).startswith(b"HTTP/1.1 200")
