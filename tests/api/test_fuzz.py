"""Property-based fuzzing of every operation in the gateway's own OpenAPI document (schemathesis).

Each operation gets valid and invalid requests (body, path, query, headers, missing credentials) generated from its
declared schema and sent in-process to the app, with the bundled simulator as upstream, authenticated as a real
user with credit (as the admin on admin routes). Every answer must be free of 5xx and match the declared response
schema. Hypothesis is derandomized, so a failure reproduces on the next run.

Random ids and URLs almost never name anything, so a valid (positive) case has its ids replaced by real ones made
on first use: a job of every kind, an uploaded file, an enrolled identity, a seeded voice, a second user for the
admin routes. Invalid cases are sent as generated.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import anyio.from_thread
import pytest
import requests
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests import services
from tests.conftest import make_settings
from tests.resemble.jobs.helpers import SUBMIT_BODIES, WAV_2S
from voicegate.app import create_app
from voicegate.config import Settings
from voicegate.kit.ids import new_id
from voicegate.ratelimit.rules import Capability

ADMIN = {"Authorization": "Bearer test-admin-key"}
EXAMPLES_PER_OPERATION = 15
SEEDED_VOICE = "55592656"

# The document is built from the code, so operations are known at collection time; the fixture checks that the
# served app publishes the very same document.
schema = schemathesis.openapi.from_dict(create_app(Settings(_env_file=None)).openapi())  # type: ignore[call-arg]


class Target:
    """What a valid case points at, made through the API in the lifespan of the current test item: schemathesis
    ends an app's lifespan with each test, and the next one starts with a fresh in-process simulator."""

    def __init__(self, app: FastAPI, http: requests.Session) -> None:
        self.app, self.http = app, http
        user = self._create_user(credits="1000")
        victim = self._create_user(credits="0")  # the admin routes act on this one, never on the fuzzing user
        self.api_key = user["api_key"]
        self.victim_id = victim["id"]
        self.victim_key_id = http.get(f"/api/v1/admin/users/{self.victim_id}", headers=ADMIN).json()["keys"][0]["id"]
        self._media_url: str | None = None
        self._jobs: dict[str, str] = {}
        self._owned: dict[str, str] = {}
        self._identity: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    def _create_user(self, credits: str) -> dict[str, Any]:
        body = {"email": f"fuzz-{new_id()[:12]}@example.com", "credits_usd": credits}
        created = self.http.post("/api/v1/admin/users", headers=ADMIN, json=body)
        assert created.status_code == 201, created.text
        return dict(created.json())

    @property
    def media_url(self) -> str:
        if self._media_url is None:
            files = {"file": ("clip.wav", WAV_2S, "audio/wav")}
            upload = self.http.post("/api/v1/resemble/uploads", headers=self.headers, files=files)
            assert upload.status_code == 201, upload.text
            self._media_url = str(upload.json()["url"])
        return self._media_url

    def owned(self, what: str) -> str:
        """An owned voice, a recording of it, or a voice design, made on first use."""
        if what not in self._owned:
            if what == "voice":
                body = {"name": "Fuzz", "consent_text": "I agree to be cloned."}
                made = self.http.post("/api/v1/resemble/voices", headers=self.headers, json=body)
                self._owned[what] = str(made.json()["item"]["uuid"])
            elif what == "recording":
                fields = {"url": self.media_url, "name": "take", "text": "Hello there."}
                path = f"/api/v1/resemble/voices/{self.owned('voice')}/recordings"
                made = self.http.post(path, headers=self.headers, json={"fields": fields})
                self._owned[what] = str(made.json()["item"]["uuid"])
            else:
                body = {"description": "A bright young voice"}
                made = self.http.post("/api/v1/resemble/voice-design/candidates", headers=self.headers, json=body)
                self._owned[what] = str(made.json()["design_uuid"])
            assert made.status_code == 200, made.text
        return self._owned[what]

    @property
    def identity_id(self) -> str:
        if self._identity is None:
            body = {"name": "fuzz", "url": self.media_url}
            enrolled = self.http.post("/api/v1/resemble/identity/enroll", headers=self.headers, json=body)
            assert enrolled.status_code == 200, enrolled.text
            self._identity = str(enrolled.json()["item"]["uuid"])
        return self._identity

    def job_id(self, kind_path: str) -> str:
        if kind_path not in self._jobs:
            body = {"audio_url": self.media_url, **SUBMIT_BODIES[kind_path]}
            job = self.http.post(f"/api/v1/resemble/{kind_path}", headers=self.headers, json=body)
            assert job.status_code == 201, job.text
            self._jobs[kind_path] = str(job.json()["job_id"])
        return self._jobs[kind_path]


@pytest.fixture(scope="module")
def fuzzed_app(
    var_dir: Path, database_url: str, redis_url: str | None, storage_settings: dict[str, object]
) -> Iterator[FastAPI]:
    unlimited = {capability.value: "100000/minute" for capability in Capability}  # fuzzing is not a rate test
    app_settings = make_settings(var_dir, database_url, redis_url, storage_settings)
    # The Business plan is on, so the gated routes run their code (closed, they answer a documented 503 by design).
    opened = {"resemble_rate_limits": unlimited, "resemble_business_plan_active": True, "simulator_plan": "business"}
    app = create_app(app_settings.model_copy(update=opened))
    assert app.openapi() == schema.raw_schema
    yield app
    asgi.shutdown_lifespans()
    with anyio.from_thread.start_blocking_portal() as portal:
        portal.call(services.truncate_url, database_url)


@pytest.fixture
def target(fuzzed_app: FastAPI) -> Iterator[Target]:
    with asgi.get_client(fuzzed_app) as http:  # starts the app's lifespan for this test item
        yield Target(fuzzed_app, http)


def _use_real_ids(case: schemathesis.Case, target: Target) -> None:
    """Point a valid case at things that exist, so it reaches the code behind the lookups.

    `POST /api/v1/webhooks/resemble/{token}` keeps its random token: a callback token is a secret minted per job
    and no route reveals it, so the fuzzer only reaches the lookup (404) and the input checks; the verified path
    is driven with real tokens by tests/resemble/jobs. It is still fuzzed for 5xx and the answer's schema.
    """
    path = case.path_parameters or {}
    kind = case.path.removeprefix("/api/v1/resemble/").removesuffix("/{job_id}")
    if "job_id" in path and kind in SUBMIT_BODIES:
        path["job_id"] = target.job_id(kind)
    if "voice_uuid" in path:
        owned = case.path.startswith("/api/v1/resemble/voices/")
        path["voice_uuid"] = target.owned("voice") if owned else SEEDED_VOICE
    if "recording_uuid" in path:
        path["recording_uuid"] = target.owned("recording")
    if "design_uuid" in path:
        path["design_uuid"] = target.owned("design")
    if "identity_id" in path:
        path["identity_id"] = target.identity_id
    if "user_id" in path:
        path["user_id"] = target.victim_id
    if "key_id" in path:
        path["key_id"] = target.victim_key_id
    if case.path == "/files/{key}" and "/files/" in target.media_url:  # local storage signs its own links
        link = urlsplit(target.media_url)
        path["key"] = link.path.removeprefix("/files/")
        case.query = dict(parse_qsl(link.query))
    if isinstance(case.body, dict):
        if "audio_url" in case.body:
            case.body["audio_url"] = target.media_url
        if "url" in case.body and case.path.startswith("/api/v1/resemble/identity/"):
            case.body["url"] = target.media_url
        if case.path.endswith("/synthesize"):
            case.body["voice_uuid"] = SEEDED_VOICE
        if case.path == "/api/v1/audio/tts/generations":
            case.body.update(voice=SEEDED_VOICE, model="resemble/default")
        if case.path in ("/api/v1/audio/stt/transcriptions", "/v1/audio/transcriptions"):
            case.body.update(file=WAV_2S, model="resemble/default")
        if case.path.startswith(("/api/v1/audio/", "/v1/audio/")):
            case.body.pop("byok_api_key", None)  # refused (400) by a gateway without BYOK_ENCRYPTION_KEY, as this one
        if case.path == "/v1/audio/speech":  # a model and voice it offers, so the formats and the stream run
            case.body["model"], case.body["voice"] = "tts-1", "alloy"
        case.body.pop("callback_uri", None)  # a random host fails the SSRF guard before anything else runs
        if "password" in case.body:
            case.body["password"] = target.api_key
    if case.headers and "X-API-Key" in case.headers:
        case.headers["X-API-Key"] = target.api_key


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_every_operation(case: schemathesis.Case, target: Target) -> None:
    if case.meta is not None and case.meta.generation.mode.is_positive:
        _use_real_ids(case, target)
    headers = ADMIN if case.path.startswith("/api/v1/admin/") else target.headers
    case.call_and_validate(app=target.app, headers=headers, checks=[not_a_server_error, response_schema_conformance])
