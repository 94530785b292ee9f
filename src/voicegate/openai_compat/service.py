"""OpenAI's speech call on the native text-to-speech path: the same voice rule, rate-card row, hold, capture, usage
row and mirrored audio as `POST /api/v1/resemble/tts/synthesize`.

Two ways through, decided by `streams()`:

- a finished clip: `billed_synthesis` (Resemble's `/synthesize`) with `Idempotency-Key` support like the native
  route; mp3 and wav come from Resemble as they are, opus/aac/flac/pcm are converted from its WAV;
- a stream (wav and pcm, up to Resemble's 2,000 streaming characters, without an `Idempotency-Key`): Resemble's
  `/stream` relayed as it arrives. The estimate is held before the call; when the stream ends, however it ends, the
  audio handed to the client is what is charged (its bytes over the byte rate), the rest of the hold goes back, and
  that audio is mirrored to storage as a WAV.
"""

from __future__ import annotations

import base64
import logging
import re
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any, Final

import anyio
import anyio.to_thread
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voicegate.billing import idempotency, ledger
from voicegate.db.models import CreditHold, ProviderResembleRequest
from voicegate.errors import BadRequest, GatewayError, UpstreamError
from voicegate.hub import catalogue
from voicegate.hub.catalogue import Model
from voicegate.kit.capability import scope as capability_scope
from voicegate.kit.money import quantize_usd
from voicegate.openai_compat.audio import (
    CONTENT_TYPES,
    PCM_RATE,
    PCM_WIDTH,
    PcmResampler,
    SpeechFormat,
    WavHeader,
    WavStream,
    transcode,
    wav_of,
)
from voicegate.openai_compat.schemas import SpeechCreate, VoiceRef
from voicegate.resemble import metering
from voicegate.resemble.ownership.kinds import UPSTREAM_ID_PATTERN
from voicegate.resemble.tts import service as tts_service
from voicegate.resemble.tts.schemas import SynthesizeCreate
from voicegate.resemble.voices import access
from voicegate.storage import service as storage_service
from voicegate.storage.retention import AssetClass

log = logging.getLogger(__name__)

OPENAI_VOICES: Final = ("alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer", "verse")
NATIVE_SPEED: Final = (0.5, 2.0)
"""The speeds the native route speaks (as SSML prosody); OpenAI's wider range is refused outside it."""
STREAMED_FORMATS: Final[tuple[SpeechFormat, ...]] = ("wav", "pcm")
MAX_STREAM_CHARS: Final = 2000  # Resemble's limit for /stream; longer input is answered as a finished clip
SAMPLE_RATE: Final = 48_000  # what wav (and the source of the converted formats) is asked of Resemble at
_VOICE_UUID: Final = re.compile(UPSTREAM_ID_PATTERN)
WRITE_BYTES: Final = 16 * 1024  # the most audio written to a streaming client at once (0.17 s of 48 kHz WAV)
OPERATION: Final = "openai.speech"
STREAM_OPERATION: Final = "openai.speech.stream"


@dataclass(frozen=True)
class SpeechDeps:
    tts: tts_service.TtsDeps
    sessionmaker: async_sessionmaker[AsyncSession]
    """Where a stream's own session comes from: it bills after the route's session has closed."""


@dataclass(frozen=True)
class SpeechRequest:
    """What a `SpeechCreate` asks for, resolved: the model, the Resemble voice, the format."""

    model: Model
    voice_uuid: str
    fmt: SpeechFormat
    text: str
    speed: float

    def native(self, *, streamed: bool = False) -> SynthesizeCreate:
        """The native request this one is: mp3 as Resemble's mp3, everything else from 16-bit WAV."""
        mp3 = self.fmt == "mp3" and not streamed
        return SynthesizeCreate(
            voice_uuid=self.voice_uuid,
            text=self.text,
            output_format="mp3" if mp3 else "wav",
            precision=None if mp3 else "PCM_16",
            sample_rate=None if mp3 else SAMPLE_RATE,
            speed=None if self.speed == 1.0 else self.speed,
        )

    def payload(self, native: SynthesizeCreate) -> dict[str, Any]:
        payload = tts_service.upstream_payload(native)
        if self.model.upstream_model:
            payload["model"] = self.model.upstream_model
        return payload


def resolve(body: SpeechCreate, voice_map: Mapping[str, str]) -> SpeechRequest:
    """Check and resolve the request (400 naming the field for anything the gateway cannot do)."""
    model = catalogue.resolve("tts", body.model)
    if body.stream_format == "sse":
        raise BadRequest(
            "stream_format 'sse' is not supported; omit it or send 'audio' (wav and pcm stream as audio bytes)",
            extra={"param": "stream_format", "code": "unsupported_value"},
        )
    low, high = NATIVE_SPEED
    if not low <= body.speed <= high:
        raise BadRequest(
            f"speed must be between {low} and {high} here (the range Resemble speaks); got {body.speed}",
            extra={"param": "speed", "code": "unsupported_value"},
        )
    return SpeechRequest(
        model=model,
        voice_uuid=voice_uuid_of(body.voice, voice_map),
        fmt=body.response_format,
        text=body.input,
        speed=body.speed,
    )


def voice_uuid_of(voice: str | VoiceRef, voice_map: Mapping[str, str]) -> str:
    """An OpenAI voice name through the configured table, else the caller's Resemble voice uuid."""
    name = voice.id if isinstance(voice, VoiceRef) else voice.strip()
    mapped = voice_map.get(name.lower())
    if mapped:
        return mapped
    if name.lower() in OPENAI_VOICES:
        offered = ", ".join(sorted(voice_map)) or "none"
        raise BadRequest(
            f"Voice {name!r} is not mapped to a Resemble voice on this gateway; mapped names: {offered}, "
            "or send a Resemble voice uuid",
            extra={"param": "voice", "code": "voice_not_found"},
        )
    if not _VOICE_UUID.fullmatch(name):
        raise BadRequest(
            f"Unknown voice {name!r}: send one of {', '.join(sorted(voice_map))} or a Resemble voice uuid",
            extra={"param": "voice", "code": "voice_not_found"},
        )
    return name


def streams(request: SpeechRequest, idempotency_key: str | None) -> bool:
    """Whether the answer is relayed from Resemble's `/stream` as it is produced (see the module docstring)."""
    return request.fmt in STREAMED_FORMATS and idempotency_key is None and len(request.text) <= MAX_STREAM_CHARS


@dataclass(frozen=True)
class Speech:
    """A finished clip: the audio in the requested format and the billing headers."""

    audio: bytes
    content_type: str
    headers: dict[str, str]


async def speak(
    deps: SpeechDeps, user_id: str, request: SpeechRequest, *, idempotency_key: str | None, fingerprint: Any
) -> Speech:
    tts = deps.tts
    native = request.native()
    payload = request.payload(native)

    async def produce() -> dict[str, Any]:
        await access.ensure_speakable(tts.session, tts.voices, tts.rate_card, user_id, request.voice_uuid)
        return await tts_service.billed_synthesis(
            tts,
            user_id,
            operation=OPERATION,
            estimate=tts_service.estimate(tts.rate_card, native),
            output_format=native.output_format,
            call=lambda: tts.upstream.synthesize(payload),
        )

    outcome = await idempotency.run_once(
        tts.session,
        user_id=user_id,
        key=idempotency_key,
        operation=OPERATION,
        payload=fingerprint,
        produce=produce,
        detached=tts_service.audio_replay(tts, user_id),
    )
    result = outcome.body
    audio = base64.b64decode(result["audio_content"])
    if request.fmt not in ("mp3", "wav"):
        audio = await anyio.to_thread.run_sync(transcode, audio, request.fmt)
    billing = result["billing"]
    headers = {
        "x-voicegate-request-id": str(result["request_id"]),
        "x-voicegate-charged-usd": str(billing["charged"]),
        "x-voicegate-audio-seconds": str(billing["quantity"]),
        "x-voicegate-remaining-credits": str(quantize_usd(await ledger.balance_of(tts.session, user_id))),
    }
    if result.get("audio_url"):
        headers["x-voicegate-asset-url"] = str(result["audio_url"])
    if outcome.replayed:
        headers["Idempotent-Replayed"] = "true"
    return Speech(audio=audio, content_type=CONTENT_TYPES[request.fmt], headers=headers)


@dataclass(frozen=True)
class SpeechStream:
    """A stream that has started: Resemble answered and its WAV header is in. `body` bills when it ends; `close()`
    must be awaited once the response is over, however it ended (it closes `body` and bills, once)."""

    content_type: str
    headers: dict[str, str]
    body: AsyncGenerator[bytes, None]
    close: Callable[[], Awaitable[None]]


async def open_stream(deps: SpeechDeps, user_id: str, request: SpeechRequest) -> SpeechStream:
    """Hold, call `/stream` and read up to the end of its WAV header. Any failure until then answers like the
    finished-clip path (502 for Resemble's 5xx, ...) with the hold given back; after it, see `_Relay`."""
    tts = deps.tts
    await access.ensure_speakable(tts.session, tts.voices, tts.rate_card, user_id, request.voice_uuid)
    native = request.native(streamed=True)
    payload = {k: v for k, v in request.payload(native).items() if k not in ("output_format", "title")}
    estimate = tts_service.estimate(tts.rate_card, native)
    session = deps.sessionmaker()
    try:
        opened, hold = await metering.open_request(
            session,
            user_id=user_id,
            capability="tts",
            operation=STREAM_OPERATION,
            estimate=estimate,
            hold_ttl=tts.hold_ttl,
        )
    except BaseException:
        with anyio.CancelScope(shield=True):
            await session.close()
        raise
    started = time.perf_counter()
    chunks = tts.upstream.stream_synthesis(payload)
    parser = WavStream()
    first = b""
    try:
        with capability_scope("tts"):
            while parser.header is None:
                try:
                    chunk = await anext(chunks)
                except StopAsyncIteration:
                    raise UpstreamError(extra={"reason": "stream ended before its WAV header"}) from None
                try:
                    first += parser.feed(chunk)
                except ValueError as exc:
                    log.error("upstream_stream_not_wav", extra={"reason": str(exc)})
                    raise UpstreamError(extra={"reason": "stream is not 16-bit PCM WAV"}) from exc
    except GatewayError as error:
        with anyio.CancelScope(shield=True):
            await chunks.aclose()
            await metering.fail_request(session, opened, hold, error, int((time.perf_counter() - started) * 1000))
            await session.close()
        raise
    except BaseException:
        with anyio.CancelScope(shield=True):
            await chunks.aclose()
            await metering.abandon(session, opened.id, reason="request aborted")
            await session.close()
        raise
    assert parser.header is not None
    relay = _Relay(deps, session, opened, hold, request, parser.header, chunks, started)
    headers = {"x-voicegate-request-id": opened.id, "x-voicegate-held-usd": str(quantize_usd(estimate.charged))}
    body = relay.run(parser, first)

    async def close() -> None:
        await body.aclose()
        await relay.finish()  # a body that never started has not billed yet

    return SpeechStream(content_type=CONTENT_TYPES[request.fmt], headers=headers, body=body, close=close)


class _Relay:
    """Relays one stream to the client and settles it once, however it ends: finished, Resemble failing mid-way
    (the client's audio stops short), or the client going away (the rest is not fetched)."""

    def __init__(
        self,
        deps: SpeechDeps,
        session: AsyncSession,
        request: ProviderResembleRequest,
        hold: CreditHold,
        speech: SpeechRequest,
        header: WavHeader,
        chunks: AsyncGenerator[bytes, None],
        started: float,
    ) -> None:
        self._deps, self._session, self._request, self._hold = deps, session, request, hold
        self._speech, self._header, self._chunks, self._started = speech, header, chunks, started
        self._resampler = PcmResampler(header) if speech.fmt == "pcm" else None
        # The delivered audio, as the client has it: wav as Resemble sent it, pcm at 24 kHz mono.
        self._rate = PCM_RATE if self._resampler else header.sample_rate
        self._channels = 1 if self._resampler else header.channels
        self._delivered = bytearray()
        self._complete = False
        self._finished = False

    async def run(self, parser: WavStream, first_samples: bytes) -> AsyncGenerator[bytes, None]:
        pieces = self._pieces(parser, first_samples)
        try:
            if self._resampler is None:  # wav: Resemble's own header first, then its samples as they come
                yield parser.header_bytes
            async for piece in pieces:
                yield piece
                self._delivered += piece  # counted once the server has taken it
            self._complete = True
        except GatewayError as error:  # Resemble failed mid-stream: what was delivered is all the client gets
            cut = {"provider_request_id": self._request.id, "status": error.status_code}
            log.warning("speech_stream_cut", extra=cut)
        finally:
            with anyio.CancelScope(shield=True):
                await pieces.aclose()
                await self.finish()

    async def finish(self) -> None:
        """Stop reading Resemble, bill what was delivered, close the session: once, whoever calls first."""
        if self._finished:
            return
        self._finished = True
        with anyio.CancelScope(shield=True):
            await self._chunks.aclose()
            await self._settle()
            await self._session.close()

    async def _pieces(self, parser: WavStream, first_samples: bytes) -> AsyncGenerator[bytes, None]:
        """The client's audio samples (resampled for pcm), in writes of at most `WRITE_BYTES`: a client that goes
        away is billed to within one write of what it was sent."""
        pending = first_samples
        async for chunk in self._chunks:
            samples = pending + parser.feed(chunk)
            pending = b""
            for piece in _slices(self._resampler.feed(samples) if self._resampler else samples):
                yield piece
        tail = (self._resampler.feed(pending) + self._resampler.flush()) if self._resampler else pending
        for piece in _slices(tail):
            yield piece

    async def _settle(self) -> None:
        bytes_per_second = self._rate * self._channels * PCM_WIDTH
        # Rounded down: never a microsecond more than the client received.
        seconds = (Decimal(len(self._delivered)) / bytes_per_second).quantize(Decimal("0.000001"), ROUND_DOWN)
        tts, request_id = self._deps.tts, self._request.id
        try:
            if seconds <= 0:
                await metering.abandon(self._session, request_id, reason="stream ended before any audio was delivered")
                return
            quote = tts.rate_card.quote(self._speech.model.rate_key, seconds)
            asset = await storage_service.put_asset(
                tts.storage,
                user_id=self._request.user_id,
                request_id=request_id,
                asset_class=AssetClass.TTS_OUTPUT,
                data=wav_of(bytes(self._delivered), self._rate, self._channels),
                ext="wav",
                content_type="audio/wav",
            )
            raw = {
                "streamed": True,
                "complete": self._complete,
                "delivered_seconds": str(seconds),
                "sample_rate": self._rate,
                "response_format": self._speech.fmt,
            }
            latency_ms = int((time.perf_counter() - self._started) * 1000)
            await metering.settle_request(
                self._session, self._request, self._hold, quote, raw, latency_ms, [asset] if asset else []
            )
        except Exception:  # the hold stays until the sweep gives it back: never a charge for undelivered audio
            log.exception("speech_stream_not_settled", extra={"provider_request_id": request_id})
            await self._session.rollback()


def _slices(data: bytes) -> list[bytes]:
    """`data` in pieces of at most `WRITE_BYTES`, cut on sample boundaries (both are even)."""
    return [data[offset : offset + WRITE_BYTES] for offset in range(0, len(data), WRITE_BYTES)]
