"""Fetching a link the gateway handed out, wherever it points (the app itself, or moto's S3 server)."""

from __future__ import annotations

import httpx


async def download(client: httpx.AsyncClient, url: str) -> bytes:
    if url.startswith("http://testserver/"):
        response = await client.get(url)
    else:
        async with httpx.AsyncClient() as outside:
            response = await outside.get(url)
    assert response.status_code == 200, response.text
    return response.content
