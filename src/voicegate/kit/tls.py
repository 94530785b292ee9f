"""The TLS settings every outbound `httpx` client of the process verifies servers with, built once.

httpx builds a fresh `ssl.SSLContext` for each client (and each transport) it creates, and loading the CA bundle
into it costs ~30 ms of CPU; an app opens several clients, and a test suite opens an app per test. A context is
meant to be shared: it holds configuration only (no connection state), and wrapping sockets with it is safe from
any thread or event loop.
"""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def verified_context(*, trust_env: bool = True) -> ssl.SSLContext:
    """What httpx would build for a client with `verify=True` and this `trust_env` (which decides whether
    `SSL_CERT_FILE` / `SSL_CERT_DIR` are honoured), built on first use and then shared."""
    return httpx.create_ssl_context(trust_env=trust_env)
