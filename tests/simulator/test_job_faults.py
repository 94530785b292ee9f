"""Callbacks, job fault modes, and the request-level machinery (auth, faults) on the asynchronous routes."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
import httpx
import pytest
from fastapi import FastAPI

from voicegate.simulator import close_simulator_app, create_simulator_app

from .conftest import API_KEY, AUTH, JOB_DELAY_S, PEER, VOICE_UUID, Peer, callback_log, poll, wait_until, wav_bytes

Submit = Callable[[httpx.AsyncClient, Peer], Awaitable[str]]  # returns the GET path of the created job


async def submit_stt(jc: httpx.AsyncClient, peer: Peer, **fields: str) -> str:
    response = await jc.post("/api/v2/speech-to-text", files={"file": ("a.wav", wav_bytes(1.0))}, data=fields)
    return f"/api/v2/speech-to-text/{response.json()['item']['uuid']}"


async def submit_enhance(jc: httpx.AsyncClient, peer: Peer) -> str:
    response = await jc.post("/api/v2/audio_enhancements", files={"audio_file": ("a.wav", wav_bytes(1.0))})
    return f"/api/v2/audio_enhancements/{response.json()['uuid']}"


async def submit_edit(jc: httpx.AsyncClient, peer: Peer, **fields: str) -> str:
    data = {"original_transcript": "a", "target_transcript": "b", "voice_uuid": VOICE_UUID, **fields}
    response = await jc.post("/api/v2/edit", files={"input_audio": ("a.wav", wav_bytes(1.0))}, data=data)
    return f"/api/v2/edit/{response.json()['item']['uuid']}"


async def submit_detect(jc: httpx.AsyncClient, peer: Peer, **fields: Any) -> str:
    peer.files["a.wav"] = wav_bytes(1.0)
    response = await jc.post("/api/v2/detect", json={"url": peer.url("a.wav"), **fields})
    return f"/api/v2/detect/{response.json()['item']['uuid']}"


async def submit_intelligence(jc: httpx.AsyncClient, peer: Peer) -> str:
    peer.files["a.wav"] = wav_bytes(1.0)
    response = await jc.post("/api/v2/intelligence", json={"url": peer.url("a.wav"), "callback_url": peer.hook()})
    return f"/api/v2/intelligences/{response.json()['item']['uuid']}"


async def submit_watermark(jc: httpx.AsyncClient, peer: Peer) -> str:
    peer.files["a.wav"] = wav_bytes(1.0)
    response = await jc.post("/api/v2/watermark/apply", json={"url": peer.url("a.wav")})
    return f"/api/v2/watermark/apply/{response.json()['item']['uuid']}/result"


def outcome(body: dict[str, Any]) -> tuple[str, str | None]:
    """(state, error message) of any job body, whatever its shape."""
    item = body.get("item", body)
    if "status" in item:
        return item["status"], item.get("error_message")
    if "description" in item:  # intelligence: no status field
        return ("completed" if item["description"] else "failed" if item["error_message"] else "processing"), item[
            "error_message"
        ]
    return ("completed" if item["result_audio_url"] else "failed" if item["error"] else "processing"), item["error"]


SUBMITS: dict[str, tuple[str, Submit]] = {
    "stt": ("speech-to-text", submit_stt),
    "enhance": ("audio_enhancements", submit_enhance),
    "edit": ("/edit$", submit_edit),
    "detect": ("/detect$", submit_detect),
    "intelligence": ("/intelligence$", submit_intelligence),
    "watermark": ("watermark/apply", submit_watermark),
}


async def add_fault(client: httpx.AsyncClient, **fault: Any) -> dict[str, Any]:
    response = await client.post("/_sim/faults", json=fault)
    assert response.status_code == 201, response.text
    return response.json()


def settled(body: dict[str, Any]) -> bool:
    return outcome(body)[0] in {"completed", "failed"}


@pytest.mark.parametrize("kind", SUBMITS)
async def test_job_fail(jc: httpx.AsyncClient, peer: Peer, kind: str) -> None:
    path, submit = SUBMITS[kind]
    fault = await add_fault(jc, path=path, mode="job_fail", message="GPU on fire")
    assert fault["message"] == "GPU on fire"
    failed = await poll(jc, await submit(jc, peer), settled)
    assert outcome(failed) == ("failed", "GPU on fire")
    assert (await jc.get("/_sim/faults")).json() == []  # consumed
    assert outcome(await poll(jc, await submit(jc, peer), settled)) == ("completed", None)


async def test_job_fail_default_message_and_count(jc: httpx.AsyncClient, peer: Peer) -> None:
    fault = await add_fault(jc, path="speech-to-text", mode="job_fail", count=2)
    for _ in range(2):
        state, message = outcome(await poll(jc, await submit_stt(jc, peer), settled))
        assert state == "failed"
        assert message == f"Simulated processing failure ({fault['id']})"
    assert outcome(await poll(jc, await submit_stt(jc, peer), settled))[0] == "completed"


async def test_job_faults_ignore_gets_and_rejected_submits(jc: httpx.AsyncClient, peer: Peer) -> None:
    await add_fault(jc, path="detect", mode="job_fail")
    assert (await jc.get("/api/v2/detect/nope")).status_code == 404
    assert (await jc.post("/api/v2/detect", json={})).status_code == 400
    assert len((await jc.get("/_sim/faults")).json()) == 1
    assert outcome(await poll(jc, await submit_detect(jc, peer), settled))[0] == "failed"


async def test_request_faults_still_apply_and_leave_job_faults_alone(jc: httpx.AsyncClient, peer: Peer) -> None:
    await add_fault(jc, path="speech-to-text", mode="job_fail")
    await add_fault(jc, path="speech-to-text", status=503)
    rejected = await jc.post("/api/v2/speech-to-text", files={"file": ("a.wav", wav_bytes(0.5))})
    assert rejected.status_code == 503
    assert rejected.json()["success"] is False
    assert [f["mode"] for f in (await jc.get("/_sim/faults")).json()] == ["job_fail"]
    assert outcome(await poll(jc, await submit_stt(jc, peer), settled))[0] == "failed"


async def test_job_hang(jc: httpx.AsyncClient, peer: Peer) -> None:
    await add_fault(jc, path="speech-to-text", mode="job_hang")
    path = await submit_stt(jc, peer, callback_url=peer.hook())
    await anyio.sleep(JOB_DELAY_S * 3)
    assert (await jc.get(path)).json()["item"]["status"] == "processing"
    edit_path = await submit_edit(jc, peer)  # the fault was consumed: other jobs finish
    await poll(jc, edit_path, settled)
    assert peer.received == []  # a hung job never calls back


async def test_callback_drop(jc: httpx.AsyncClient, peer: Peer) -> None:
    await add_fault(jc, path="speech-to-text", mode="callback_drop")
    path = await submit_stt(jc, peer, callback_url=peer.hook())
    body = await poll(jc, path, settled)
    assert outcome(body)[0] == "completed"  # the job settles; only its callback is cut
    await anyio.sleep(JOB_DELAY_S * 2)
    assert peer.received == []
    assert (await jc.get("/_sim/callbacks")).json() == []


@pytest.fixture
async def short_wait_app(outbound: httpx.AsyncClient) -> AsyncIterator[FastAPI]:
    app = create_simulator_app(API_KEY, job_delay_s=0.05, sync_wait_limit_s=0.2, outbound=outbound)
    yield app
    await close_simulator_app(app)


async def test_hung_synchronous_calls_answer_after_the_wait_limit(short_wait_app: FastAPI, peer: Peer) -> None:
    peer.files["a.wav"] = wav_bytes(0.5)
    transport = httpx.ASGITransport(app=short_wait_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim", headers=AUTH) as client:
        await add_fault(client, path="watermark", mode="job_hang", count=-1)
        started = time.monotonic()
        response = await client.post(
            "/api/v2/watermark/apply", json={"url": peer.url("a.wav")}, headers={"Prefer": "wait"}
        )
        assert 0.2 <= time.monotonic() - started < 2
        assert response.json()["item"]["status"] == "processing"
        await add_fault(client, path="intelligence", mode="job_hang")
        report = (await client.post("/api/v2/intelligence", json={"url": peer.url("a.wav")})).json()["item"]
        assert (report["description"], report["error_message"]) == (None, None)


@pytest.mark.parametrize("submit", [submit_stt, submit_edit, submit_detect])
async def test_signed_callback_carries_the_get_body(jc: httpx.AsyncClient, peer: Peer, submit: Submit) -> None:
    field = "callback_uri" if submit is submit_edit else "callback_url"
    path = await submit(jc, peer, **{field: peer.hook("done")})  # type: ignore[call-arg]
    await wait_until(lambda: len(peer.received) == 1)
    delivery = peer.received[0]
    assert delivery.path == "/hooks/done"
    assert delivery.headers["content-type"] == "application/json"
    assert delivery.signature_ok()
    assert not delivery.signature_ok("another secret")
    assert delivery.json() == (await jc.get(path)).json()
    assert outcome(delivery.json())[0] == "completed"
    log = await callback_log(jc, 1)
    job_uuid = delivery.json()["item"]["uuid"]
    assert [{k: e[k] for k in ("url", "status_code", "error", "job_uuid", "attempt")} for e in log] == [
        {"url": peer.hook("done"), "status_code": 200, "error": None, "job_uuid": job_uuid, "attempt": 1}
    ]


async def test_failed_job_calls_back_too(jc: httpx.AsyncClient, peer: Peer) -> None:
    await submit_detect(jc, peer, callback_url=peer.hook())
    await jc.post("/api/v2/detect", json={"url": f"{PEER}/files/missing.wav", "callback_url": peer.hook()})
    await wait_until(lambda: len(peer.received) == 2)
    states = sorted(outcome(delivery.json())[0] for delivery in peer.received)
    assert states == ["completed", "failed"]


async def test_callback_repeat(jc: httpx.AsyncClient, peer: Peer) -> None:
    fault = await add_fault(jc, path="detect", mode="callback_repeat")
    assert fault["repeat"] == 3
    await add_fault(jc, path="intelligence", mode="callback_repeat", repeat=2)
    await submit_detect(jc, peer, callback_url=peer.hook("d"))
    await submit_intelligence(jc, peer)
    log = await callback_log(jc, 5)
    await anyio.sleep(JOB_DELAY_S)
    assert len(peer.received) == 5
    detects = [d for d in peer.received if d.path == "/hooks/d"]
    assert len(detects) == 3
    assert len({d.body for d in detects}) == 1
    assert all(d.signature_ok() for d in peer.received)
    by_job: dict[str, list[int]] = {}
    for entry in log:
        by_job.setdefault(entry["job_uuid"], []).append(entry["attempt"])
    assert sorted(by_job.values()) == [[1, 2], [1, 2, 3]]
    assert (await jc.delete("/_sim/callbacks")).status_code == 200
    assert (await jc.get("/_sim/callbacks")).json() == []


async def test_callback_failures_are_logged_and_ignored(jc: httpx.AsyncClient, peer: Peer) -> None:
    peer.hook_status = 500
    path = await submit_stt(jc, peer, callback_url=peer.hook())
    entry = (await callback_log(jc, 1))[0]
    assert len(peer.received) == 1  # no retries
    assert (entry["status_code"], entry["error"]) == (500, None)
    assert (await jc.get(path)).json()["item"]["status"] == "completed"


async def test_unreachable_callback_is_logged() -> None:
    app = create_simulator_app(API_KEY, job_delay_s=0.0)  # lazily created outbound client
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim", headers=AUTH) as c:
        files = {"file": ("a.wav", wav_bytes(0.5))}
        await c.post("/api/v2/speech-to-text", files=files, data={"callback_url": "http://127.0.0.1:9/hook"})
        entry = (await callback_log(c, 1))[0]
        assert entry["status_code"] is None
        assert "ConnectError" in entry["error"]
    await close_simulator_app(app)


async def test_unsigned_without_secret(outbound: httpx.AsyncClient, peer: Peer) -> None:
    app = create_simulator_app(API_KEY, job_delay_s=0.0, outbound=outbound)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim", headers=AUTH) as c:
        await submit_stt(c, peer, callback_url=peer.hook())
        await wait_until(lambda: len(peer.received) == 1)
    assert "x-resemble-signature" not in peer.received[0].headers
    await close_simulator_app(app)


async def test_close_cancels_pending_callbacks(outbound: httpx.AsyncClient, peer: Peer) -> None:
    app = create_simulator_app(API_KEY, job_delay_s=60.0, outbound=outbound)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim", headers=AUTH) as c:
        await submit_stt(c, peer, callback_url=peer.hook())
        await submit_detect(c, peer, callback_url=peer.hook())
    engine = app.state.simulator.jobs
    assert engine.pending_callbacks() == 2
    await close_simulator_app(app)
    assert engine.pending_callbacks() == 0
    assert peer.received == []
    assert not outbound.is_closed  # an injected client belongs to the caller


@pytest.mark.parametrize(
    "fault",
    [
        {"path": "x", "mode": "callback_repeat", "repeat": 0},
        {"path": "x", "mode": "callback_repeat", "repeat": "3"},
        {"path": "x", "mode": "job_fail", "message": 5},
    ],
)
async def test_invalid_job_faults(jc: httpx.AsyncClient, fault: dict[str, Any]) -> None:
    response = await jc.post("/_sim/faults", json=fault)
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v2/speech-to-text"),
        ("GET", "/api/v2/speech-to-text?page=1"),
        ("GET", "/api/v2/speech-to-text/x"),
        ("POST", "/api/v2/audio_enhancements"),
        ("GET", "/api/v2/audio_enhancements/x"),
        ("POST", "/api/v2/edit"),
        ("GET", "/api/v2/edit/x"),
        ("POST", "/api/v2/detect"),
        ("GET", "/api/v2/detect/x"),
        ("POST", "/api/v2/secure_uploads"),
        ("POST", "/api/v2/intelligence"),
        ("GET", "/api/v2/intelligences/x"),
        ("GET", "/api/v2/audio_source_tracings/x"),
        ("POST", "/api/v2/watermark/apply"),
        ("GET", "/api/v2/watermark/apply/x/result"),
        ("POST", "/api/v2/watermark/detect"),
        ("GET", "/api/v2/watermark/detect/x/result"),
    ],
)
async def test_auth_required(jc: httpx.AsyncClient, method: str, path: str) -> None:
    response = await jc.request(method, path, headers={"Authorization": "Bearer wrong"}, json={})
    assert response.status_code == 401
    assert response.json()["message"] == "Invalid API token"


async def test_media_urls_are_unguessable_and_unauthenticated(jc: httpx.AsyncClient) -> None:
    assert (await jc.get("/_sim/media/nothing.wav", headers={"Authorization": ""})).status_code == 404
