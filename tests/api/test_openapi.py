"""The OpenAPI document states every operation's success body and its error body, as the fuzz test relies on."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import create_customer
from voicegate.errors import ErrorRead

# a stored file; Prometheus text; speech audio
NON_JSON = {("/files/{key}", "get"), ("/metrics", "get"), ("/v1/audio/speech", "post")}


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, spec) for path, item in document["paths"].items() for method, spec in item.items()]


def success(spec: dict[str, Any]) -> dict[str, Any]:
    return next(body for status, body in spec["responses"].items() if status.startswith("2"))


def test_every_json_operation_names_its_response_model(app: FastAPI):
    document = app.openapi()
    generic = []
    for path, method, spec in operations(document):
        if (path, method) in NON_JSON or "204" in spec["responses"]:  # a 204 has no body to name
            continue
        schema = success(spec)["content"]["application/json"]["schema"]
        if "$ref" not in schema:  # `dict[str, Any]` renders as an anonymous open object
            generic.append(f"{method.upper()} {path}: {schema}")
    assert generic == []


def test_every_operation_documents_the_error_body(app: FastAPI):
    document = app.openapi()
    for path, method, spec in operations(document):
        # Under /v1/ errors render in OpenAI's shape (errors.py), and the document says so.
        body = "OpenAIErrorRead" if path.startswith("/v1/") else "ErrorRead"
        for status in ("4XX", "5XX"):
            schema = spec["responses"][status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": f"#/components/schemas/{body}"}, (method, path, status)
    assert "HTTPValidationError" not in document["components"]["schemas"]


async def test_a_422_with_a_message_matches_the_documented_error_body(client: httpx.AsyncClient, session: AsyncSession):
    # Found by fuzzing: FastAPI documented 422 as a list of field errors, but the gateway's own 422s carry a message.
    customer = await create_customer(session)
    url = "/api/v1/resemble/tts/synthesize"
    headers = {**customer.headers, "Idempotency-Key": "fuzz-1"}
    await client.post(url, json={"voice_uuid": "55592656", "text": "one"}, headers=headers)
    response = await client.post(url, json={"voice_uuid": "55592656", "text": "two"}, headers=headers)
    assert response.status_code == 422
    assert isinstance(ErrorRead.model_validate(response.json()).detail, str)


@pytest.mark.parametrize("key", ["", "   ", "k" * 256])
async def test_an_invalid_idempotency_key_is_a_documented_422(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, key: str
):
    customer = await create_customer(session)
    header = next(
        p
        for p in app.openapi()["paths"]["/api/v1/resemble/tts/synthesize"]["post"]["parameters"]
        if p["name"] == "Idempotency-Key"
    )
    declared = header["schema"]["anyOf"][0]
    assert (declared["minLength"], declared["maxLength"]) == (1, 255)
    response = await client.post(
        "/api/v1/resemble/tts/synthesize",
        json={"voice_uuid": "55592656", "text": "hello"},
        headers={**customer.headers, "Idempotency-Key": key},
    )
    assert response.status_code == 422
    ErrorRead.model_validate(response.json())
