"""Console test helpers: sign in through the form, and read the CSRF token a page hands out."""

from __future__ import annotations

import re

import httpx

TOKEN = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def csrf_token(page: httpx.Response) -> str:
    found = TOKEN.search(page.text)
    assert found, page.text[:500]
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, api_key: str) -> str:
    """Sign `client` in with `api_key`; the CSRF token for its later forms."""
    token = csrf_token(await client.get("/console/login"))
    answer = await client.post("/console/login", data={"api_key": api_key, "csrf_token": token})
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/console"
    return token


async def synthesize(client: httpx.AsyncClient, headers: dict[str, str], text: str = "Bill me.") -> httpx.Response:
    answer = await client.post(
        "/api/v1/resemble/tts/synthesize", json={"voice_uuid": "55592656", "text": text}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    return answer
