"""Streaming TTS: one user socket relayed to Resemble's streaming WebSocket, each utterance billed like TTS.

The socket, in order: authenticate the bearer credential of the upgrade request (as HTTP routes do), check the
Business-plan gate, take one of the user's concurrent-stream slots; a failure there is one error frame and a close
(1008, or 1013 for the slot cap). Then every client message is one utterance, handled in turn:

1. validate it, check the voice as `tts/synthesize` does (another user's voice: 404, a suspended one: 402) and the
   `tts` rate limit; all before anything is held or sent upstream;
2. hold credit for the TTS estimate of its text (`metered_call`, the path every billed call takes: 402 when the
   balance cannot cover it);
3. forward it upstream (connecting on first use, with our key) under a request id of our own, and relay its
   `audio` frames to the client, counting the PCM each frame delivered;
4. on `audio_end`, charge the delivered seconds at the TTS rate (one usage row, the rest of the hold back), mirror
   the delivered audio under `tts-output/`, and send `audio_end` with the `billing` object and remaining credits.

A client that leaves mid-utterance is charged for the frames already handed to its socket, never more, and nothing
when none was: the hold is then released. An upstream error frame, a closed or silent upstream socket becomes an
error frame (5xx as 502); audio the client already received by then is charged like a departed client's (the
error frame carries the `billing`), and with none the hold is released. A malformed upstream frame is never
charged. Every error frame of an utterance leaves the socket open.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import structlog
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from starlette.websockets import WebSocket, WebSocketDisconnect

from voicegate.auth.service import CallerUser, authenticate_bearer
from voicegate.billing import ledger
from voicegate.billing.pricing import Quote
from voicegate.db.errors import classify as classify_database_error
from voicegate.db.models import ProviderResembleAsset
from voicegate.errors import (
    DatabaseUnavailable,
    GatewayError,
    PlanGated,
    RateLimited,
    Unauthorized,
    UpstreamError,
    UpstreamRejected,
    UpstreamTimeout,
)
from voicegate.kit.ids import new_id
from voicegate.logging import bind_user
from voicegate.ratelimit.rules import Capability
from voicegate.resemble.metering import billing_view, metered_call
from voicegate.resemble.streaming.audio import SAMPLE_WIDTH, DeliveredAudio
from voicegate.resemble.streaming.schemas import StreamUtterance
from voicegate.resemble.tts.service import estimate_text
from voicegate.resemble.voices import access
from voicegate.resources import Resources
from voicegate.runtime_settings.registry import BUSINESS_PLAN_ACTIVE
from voicegate.storage import service as storage_service
from voicegate.storage.retention import AssetClass
from voicegate.upstream.streaming import StreamClosed, StreamConnection

log = logging.getLogger(__name__)

# Close codes (RFC 6455): policy violation (no credential, gate closed), try again later (stream cap, database
# outage), internal error.
CLOSE_POLICY = 1008
CLOSE_TRY_LATER = 1013
CLOSE_INTERNAL = 1011
INBOX_SIZE = 16  # client messages waiting for their turn; a client sending more waits (back-pressure)
CLIENT_GONE = 499  # never answered: how a request the client abandoned before any audio is recorded

ERROR_NAMES = {
    400: "BadRequest",
    401: "Unauthorized",
    402: "PaymentRequired",
    404: "NotFound",
    409: "Conflict",
    422: "Unprocessable",
    429: "RateLimited",
    502: "UpstreamError",
    503: "Unavailable",
}


def error_frame(status_code: int, message: str, *, name: str | None = None, request_id: int | None = None) -> dict:
    frame: dict[str, Any] = {
        "type": "error",
        "success": False,
        "error_name": name or ERROR_NAMES.get(status_code, "Error"),
        "message": message,
        "status_code": status_code,
    }
    if request_id is not None:
        frame["request_id"] = request_id
    return frame


class ClientGone(GatewayError):
    status_code = CLIENT_GONE
    detail = "client disconnected before any audio was delivered"


@dataclass
class Relayed:
    audio: DeliveredAudio
    seconds: Decimal
    """Measured while the hold can still be released: a malformed stream is an upstream failure, never a charge."""
    complete: bool
    failure: GatewayError | None = None
    """Why the utterance stopped short upstream after audio was delivered (charged for that audio)."""


@dataclass
class StreamSession:
    websocket: WebSocket
    resources: Resources
    user: CallerUser
    inbox: asyncio.Queue[str | bytes | None] = field(default_factory=lambda: asyncio.Queue(INBOX_SIZE))
    client_gone: asyncio.Event = field(default_factory=asyncio.Event)
    upstream: StreamConnection | None = None
    next_client_id: int = 0
    next_upstream_id: int = 0

    # the client side

    async def read_client(self) -> None:
        """Queue the client's messages until it leaves, then mark it gone."""
        try:
            while True:
                message = await self.websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return
                text = message.get("text")
                await self.inbox.put(text if text is not None else message.get("bytes") or b"")
        except (WebSocketDisconnect, RuntimeError, OSError):
            return
        finally:
            self.client_gone.set()
            with contextlib.suppress(asyncio.QueueFull):
                self.inbox.put_nowait(None)

    async def send(self, frame: dict[str, Any] | bytes) -> bool:
        """Hand one frame to the client's socket; False when the client is gone."""
        if self.client_gone.is_set():
            return False
        try:
            if isinstance(frame, bytes):
                await self.websocket.send_bytes(frame)
            else:
                await self.websocket.send_text(json.dumps(frame, separators=(",", ":")))
        except (WebSocketDisconnect, RuntimeError, OSError):
            self.client_gone.set()
            return False
        return True

    async def run(self) -> None:
        while not self.client_gone.is_set():
            raw = await self.inbox.get()
            if raw is None or self.client_gone.is_set():  # nobody is left to hear what is still queued
                return
            await self.utterance(raw)

    # one utterance

    async def utterance(self, raw: str | bytes) -> None:
        client_id = self.next_client_id
        try:
            body = _parse(raw)
            client_id = body.request_id if body.request_id is not None else self.next_client_id
            self.next_client_id = client_id + 1
            await self.billed(body, client_id)
        except GatewayError as error:
            if error.status_code != CLIENT_GONE:
                await self.send(error_frame(error.status_code, str(error.detail), request_id=client_id))
        except _BadMessage as error:
            await self.send(error_frame(400, error.message, name=error.name, request_id=client_id))
        except SQLAlchemyError as exc:
            outage = classify_database_error(exc)
            if outage is None:
                raise
            log.warning("database_unavailable", extra={"path": self.websocket.url.path, "reason": outage.reason})
            await self.send(error_frame(503, DatabaseUnavailable.detail, request_id=client_id))

    async def billed(self, body: StreamUtterance, client_id: int) -> None:
        resources = self.resources
        settings = resources.settings
        async with resources.sessionmaker() as session:
            await access.ensure_speakable(session, resources.voices, resources.rate_card, self.user.id, body.voice_uuid)
            await resources.limiter.check_or_raise(self.user.id, Capability.TTS, self.user.tier)
            stored: list[ProviderResembleAsset] = []

            def price(relayed: Relayed) -> tuple[Quote, dict[str, Any]]:
                seconds = relayed.seconds
                raw = {"streamed": True, "complete": relayed.complete, "audio_seconds": str(seconds)}
                return resources.rate_card.quote("tts", seconds), raw

            async def keep(request_id: str, relayed: Relayed) -> list[object]:
                asset = await storage_service.put_asset(
                    resources.storage,
                    user_id=self.user.id,
                    request_id=request_id,
                    asset_class=AssetClass.TTS_OUTPUT,
                    data=relayed.audio.as_wav(),
                    ext="wav",
                    content_type="audio/wav",
                )
                stored.extend([asset] if asset else [])
                return list(stored)

            metered, relayed = await metered_call(
                session,
                user_id=self.user.id,
                capability="tts",
                operation="stream",
                estimate=estimate_text(resources.rate_card, body.data),
                hold_ttl=timedelta(seconds=settings.hold_ttl_s),
                call=lambda: self.relay(body, client_id),
                price=price,
                keep=keep,
            )
            remaining = await ledger.balance_of(session, self.user.id)
            await session.commit()
            link = await _link(resources, stored[0]) if stored else None
            billing = {**billing_view(metered.usage), "remaining_credits": str(remaining)}
            gateway_request_id = metered.request.id
        outcome = {
            "gateway_request_id": gateway_request_id,
            "audio_duration": float(relayed.seconds),
            "audio_url": link,
            "billing": billing,
        }
        if relayed.failure is not None:
            failure = relayed.failure
            await self.send({**error_frame(failure.status_code, str(failure.detail), request_id=client_id), **outcome})
        else:
            await self.send({"type": "audio_end", "request_id": client_id, **outcome})

    async def connect_upstream(self) -> StreamConnection:
        if self.upstream is None:
            self.upstream = await self.resources.stream_upstream.connect()
        return self.upstream

    async def drop_upstream(self) -> None:
        upstream, self.upstream = self.upstream, None
        if upstream is not None:
            await upstream.close()

    async def relay(self, body: StreamUtterance, client_id: int) -> Relayed:
        """Send the utterance upstream and relay its audio until `audio_end`, an error, or the client leaving."""
        if self.client_gone.is_set():
            raise ClientGone()
        upstream = await self.connect_upstream()
        upstream_id = self.next_upstream_id
        self.next_upstream_id += 1
        try:
            await upstream.send_json(_upstream_message(body, upstream_id))
        except StreamClosed:
            await self.drop_upstream()
            upstream = await self.connect_upstream()  # a socket that went idle and was closed: one fresh try
            try:
                await upstream.send_json(_upstream_message(body, upstream_id))
            except StreamClosed as exc:
                await self.drop_upstream()
                raise UpstreamError(extra={"reason": f"stream closed on connect ({exc.code})"}) from exc
        width = SAMPLE_WIDTH[body.precision] if body.precision else None
        audio = DeliveredAudio(sample_rate=body.sample_rate, width=width)
        timeout_s = self.resources.settings.resemble_read_timeout_s
        while True:
            try:
                raw = await self._next_upstream_frame(upstream, timeout_s)
            except GatewayError as failure:  # Resemble's socket closed or went silent
                return _stopped_short(audio, failure)
            if raw is None:  # the client left: stop listening to this utterance
                await self.drop_upstream()
                break
            frame = _frame(raw)
            if frame.get("request_id", upstream_id) != upstream_id:
                continue  # the tail of an utterance abandoned earlier on this connection
            kind = frame.get("type")
            if kind == "audio":
                chunk, rate = _audio_of(frame)
                out: dict[str, Any] | bytes = chunk
                if not body.binary_response:
                    out = {**frame, "request_id": client_id}
                if not await self.send(out):
                    await self.drop_upstream()
                    break
                audio.add(chunk, rate)
            elif kind == "audio_end":
                return Relayed(audio=audio, seconds=audio.seconds, complete=True)
            elif kind == "error":
                return _stopped_short(audio, _upstream_failure(frame))
        if not audio.pcm:
            raise ClientGone()
        return Relayed(audio=audio, seconds=audio.seconds, complete=False)

    async def _next_upstream_frame(self, upstream: StreamConnection, timeout_s: float) -> str | bytes | None:
        """The next upstream frame, or None as soon as the client is gone."""
        receiving = asyncio.ensure_future(upstream.receive(timeout_s))
        leaving = asyncio.ensure_future(self.client_gone.wait())
        try:
            await asyncio.wait({receiving, leaving}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            leaving.cancel()
        if not receiving.done():
            receiving.cancel()
            with contextlib.suppress(BaseException):
                await receiving
            return None
        try:
            return receiving.result()
        except TimeoutError as exc:
            await self.drop_upstream()
            raise UpstreamTimeout(extra={"reason": "no stream frame in time"}) from exc
        except StreamClosed as exc:
            self.upstream = None
            raise UpstreamError(extra={"reason": f"stream closed mid-utterance ({exc.code})"}) from exc


def _stopped_short(audio: DeliveredAudio, failure: GatewayError) -> Relayed:
    """An utterance Resemble ended with an error: the audio the client already has is charged, else nothing is."""
    if not audio.pcm:
        raise failure
    return Relayed(audio=audio, seconds=audio.seconds, complete=False, failure=failure)


class _BadMessage(Exception):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message


async def _link(resources: Resources, asset: ProviderResembleAsset) -> str | None:
    """A download link for the mirrored audio; the charge is already written, so a storage failure only costs it."""
    try:
        ttl = timedelta(seconds=resources.settings.presign_ttl_s)
        link = await storage_service.presign(resources.storage, asset, ttl)
    except Exception:
        log.exception("stream_audio_link_failed", extra={"provider_request_id": asset.request_id})
        return None
    return link.url


def _parse(raw: str | bytes) -> StreamUtterance:
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise _BadMessage("BadJSON", "Message is not valid JSON") from None
    if not isinstance(body, dict):
        raise _BadMessage("BadJSON", "Message must be a JSON object")
    try:
        return StreamUtterance.model_validate(body)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'message'}: {e['msg']}" for e in exc.errors())
        raise _BadMessage("BadRequest", f"Invalid message: {problems}") from None


def _upstream_message(body: StreamUtterance, upstream_id: int) -> dict[str, Any]:
    message: dict[str, Any] = {
        "voice_uuid": body.voice_uuid,
        "data": body.data,
        "request_id": upstream_id,
        "output_format": body.output_format,
        "binary_response": False,
        "no_audio_header": body.no_audio_header,
    }
    for name in ("project_uuid", "model", "sample_rate", "precision"):
        value = getattr(body, name)
        if value is not None:
            message[name] = value
    return message


def _frame(raw: str | bytes) -> dict[str, Any]:
    if isinstance(raw, bytes):  # asked for JSON frames; raw bytes can only be audio
        return {"type": "audio", "audio_content": base64.b64encode(raw).decode("ascii")}
    try:
        frame = json.loads(raw)
    except ValueError:
        frame = None
    if not isinstance(frame, dict):
        raise UpstreamError(extra={"reason": "stream frame is not a JSON object"})
    return frame


def _audio_of(frame: dict[str, Any]) -> tuple[bytes, int | None]:
    try:
        chunk = binascii.a2b_base64(frame["audio_content"], strict_mode=True)
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise UpstreamError(extra={"reason": "stream audio frame without base64 audio"}) from exc
    rate = frame.get("sample_rate")
    return chunk, rate if isinstance(rate, int) and not isinstance(rate, bool) and rate > 0 else None


def _upstream_failure(frame: dict[str, Any]) -> GatewayError:
    status = frame.get("status_code")
    message = str(frame.get("message") or "Resemble stream error")[:500]
    if status in (400, 404, 422):
        return UpstreamRejected(message, status_code=status)
    if status == 429:
        return RateLimited(f"Resemble is rate limiting streams: {message}", 1)
    return UpstreamError(extra={"reason": message, "upstream_status": status if isinstance(status, int) else None})


async def _credential(websocket: WebSocket) -> str:
    authorization = websocket.headers.get("authorization")
    if authorization is not None:
        scheme, _, credential = authorization.partition(" ")
        if scheme.lower() != "bearer" or not credential.strip():
            raise Unauthorized("Malformed Authorization header: expected 'Bearer <token>'")
        return credential.strip()
    credential = websocket.cookies.get("access_token", "")
    if not credential:
        raise Unauthorized("Not authenticated: send 'Authorization: Bearer <API key or access token>'")
    return credential


async def _authenticate(websocket: WebSocket, resources: Resources) -> CallerUser:
    credential = await _credential(websocket)
    async with resources.sessionmaker() as session:
        principal = await authenticate_bearer(
            session, credential, secret=resources.settings.signing_secret, cache=resources.credentials
        )
        await session.commit()
    return principal.user


async def _refuse(websocket: WebSocket, frame: dict[str, Any], code: int) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
        await websocket.send_text(json.dumps(frame))
        await websocket.close(code=code)


async def serve(websocket: WebSocket, resources: Resources) -> None:
    """Run one streaming socket from handshake to close; nothing raised here escapes to the server."""
    structlog.contextvars.bind_contextvars(request_id=new_id())
    try:
        await websocket.accept()
    except (WebSocketDisconnect, RuntimeError, OSError):  # the client left during the handshake
        return
    try:
        await _serve(websocket, resources)
    except Exception as exc:  # a bug or a database outage must not leave the socket hanging: say so and close
        outage = classify_database_error(exc)
        if outage is None:
            log.exception("stream_failed")
            await _refuse(websocket, error_frame(500, "Internal error"), CLOSE_INTERNAL)
        else:
            log.warning("database_unavailable", extra={"path": websocket.url.path, "reason": outage.reason})
            await _refuse(websocket, error_frame(503, DatabaseUnavailable.detail), CLOSE_TRY_LATER)


async def _serve(websocket: WebSocket, resources: Resources) -> None:
    try:
        user = await _authenticate(websocket, resources)
    except GatewayError as error:
        code = {401: CLOSE_POLICY, 503: CLOSE_TRY_LATER}.get(error.status_code, CLOSE_INTERNAL)
        await _refuse(websocket, error_frame(error.status_code, str(error.detail)), code)
        return
    bind_user(user.id)
    if not await resources.runtime_settings.value(BUSINESS_PLAN_ACTIVE):
        frame = error_frame(503, PlanGated.detail, name="BusinessPlanRequired")
        await _refuse(websocket, frame, CLOSE_POLICY)
        return
    cap = resources.settings.tts_stream_max_per_user
    async with resources.stream_slots.slot(user.id, cap) as granted:
        if not granted:
            message = f"At most {cap} concurrent streams per user; close one and try again"
            await _refuse(websocket, error_frame(429, message, name="TooManyStreams"), CLOSE_TRY_LATER)
            return
        session = StreamSession(websocket=websocket, resources=resources, user=user)
        reader = asyncio.create_task(session.read_client())
        try:
            await session.run()
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            await session.drop_upstream()
    with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
        await websocket.close()
