"""Text-to-speech: one billed synthesis with a voice the caller may use, mirrored to `tts-output/`."""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from sqlalchemy.ext.asyncio import AsyncSession

from voicegate.billing.idempotency import Detached
from voicegate.billing.pricing import Quote, RateCard
from voicegate.db.models import ProviderResembleAsset
from voicegate.errors import Unprocessable, UpstreamError
from voicegate.kit.time import isoformat_z
from voicegate.resemble.metering import billing_view, metered_call
from voicegate.resemble.tts.schemas import SynthesizeCreate
from voicegate.resemble.voices import access
from voicegate.resemble.voices.catalogue import VoiceCatalogue
from voicegate.storage import service as storage_service
from voicegate.storage.base import StorageBackend, StorageError
from voicegate.storage.retention import AssetClass
from voicegate.upstream.client import ResembleClient

if TYPE_CHECKING:
    from voicegate.resources import Resources

log = logging.getLogger(__name__)

# An upper bound on speech length used for the credit hold: 0.15 s per character is slower than any voice
# speaks at speed 1.0 (typical is 0.06-0.08 s), plus a second of padding; the real duration is what is charged.
HOLD_SECONDS_PER_CHAR = Decimal("0.15")
CONTENT_TYPES = {"wav": "audio/wav", "mp3": "audio/mpeg"}


@dataclass(frozen=True)
class TtsDeps:
    session: AsyncSession
    upstream: ResembleClient
    storage: StorageBackend
    rate_card: RateCard
    hold_ttl: timedelta
    presign_ttl: timedelta
    voices: VoiceCatalogue

    @classmethod
    def of(cls, resources: Resources, session: AsyncSession, upstream: ResembleClient, rate_card: RateCard) -> TtsDeps:
        """For one unit of work on the account `upstream` is, priced by `rate_card` (the caller's, see `deps`)."""
        settings = resources.settings
        return cls(
            session=session,
            upstream=upstream,
            storage=resources.storage,
            rate_card=rate_card,
            hold_ttl=timedelta(seconds=settings.hold_ttl_s),
            presign_ttl=timedelta(seconds=settings.presign_ttl_s),
            voices=resources.voices,
        )


def upstream_payload(body: SynthesizeCreate) -> dict[str, Any]:
    """Map our request onto Resemble's /synthesize fields; speed and language become SSML, which it understands."""
    data = body.text
    is_ssml = data.lstrip().startswith("<speak")
    if (body.speed not in (None, 1.0) or body.language) and is_ssml:
        raise Unprocessable("speed and language cannot be combined with SSML text; put them in the SSML")
    if not is_ssml and (body.speed not in (None, 1.0) or body.language):
        inner = escape(data)
        if body.speed not in (None, 1.0):
            inner = f'<prosody rate="{round((body.speed or 1.0) * 100)}%">{inner}</prosody>'
        if body.language:
            inner = f'<lang xml:lang="{body.language}">{inner}</lang>'
        data = f"<speak>{inner}</speak>"
    payload: dict[str, Any] = {
        "voice_uuid": body.voice_uuid,
        "data": data,
        "output_format": body.output_format,
    }
    if body.precision:
        payload["precision"] = body.precision
    if body.sample_rate:
        payload["sample_rate"] = str(body.sample_rate)
    if body.title:
        payload["title"] = body.title
    return payload


def estimate(rate_card: RateCard, body: SynthesizeCreate) -> Quote:
    return estimate_text(rate_card, body.text, body.speed or 1.0)


def estimate_text(rate_card: RateCard, text: str, speed: float = 1.0) -> Quote:
    seconds = HOLD_SECONDS_PER_CHAR * len(text) / Decimal(str(speed)) + 1
    return rate_card.quote("tts", seconds.quantize(Decimal("0.001")))


def _decode_audio(result: dict[str, Any]) -> tuple[bytes, Decimal]:
    try:
        audio = binascii.a2b_base64(result["audio_content"], strict_mode=True)  # C-speed validation, not a regex
        duration = Decimal(str(result["duration"]))
    except (KeyError, TypeError, ValueError, ArithmeticError, binascii.Error) as exc:  # Decimal("x"): ArithmeticError
        raise UpstreamError(extra={"reason": "synthesis response without audio or duration"}) from exc
    if not audio or not duration.is_finite() or duration < 0:
        raise UpstreamError(extra={"reason": "synthesis response with empty audio"})
    return audio, duration


async def synthesize(
    deps: TtsDeps, user_id: str, body: SynthesizeCreate, *, upstream_model: str | None = None
) -> dict[str, Any]:
    """`upstream_model` is Resemble's `model` field (the hub's model names resolve to it); None lets Resemble
    choose from the voice, as the native route always does."""
    payload = upstream_payload(body)
    if upstream_model:
        payload["model"] = upstream_model
    await access.ensure_speakable(deps.session, deps.voices, deps.rate_card, user_id, body.voice_uuid)
    return await billed_synthesis(
        deps,
        user_id,
        operation="synthesize",
        estimate=estimate(deps.rate_card, body),
        output_format=body.output_format,
        call=lambda: deps.upstream.synthesize(payload),
    )


async def billed_synthesis(
    deps: TtsDeps,
    user_id: str,
    *,
    operation: str,
    estimate: Quote,
    output_format: str,
    call: Callable[[], Awaitable[dict[str, Any]]],
    rows: Callable[[str, dict[str, Any]], Sequence[object]] | None = None,
) -> dict[str, Any]:
    """Every billed synthesis (the TTS route, clip creation): hold, call, charge the audio seconds, mirror the audio
    under `tts-output/`. `call` returns a synthesis-shaped result (base64 `audio_content`, `duration`, optional
    `output_format`, `sample_rate`, `url`); `rows(request_id, result)` are written in the charge's transaction."""
    decoded: dict[str, tuple[bytes, Decimal]] = {}

    async def checked_call() -> dict[str, Any]:
        result = await call()
        # A malformed success is an upstream failure: the hold is released and nothing is charged.
        decoded["audio"] = _decode_audio(result)
        return result

    def price(result: dict[str, Any]) -> tuple[Quote, dict[str, Any]]:
        _, duration = decoded["audio"]
        return deps.rate_card.quote("tts", duration.quantize(Decimal("0.000001"))), _without_audio(result)

    stored: list[ProviderResembleAsset] = []

    async def keep(request_id: str, result: dict[str, Any]) -> list[object]:
        kept: list[object] = list(rows(request_id, result)) if rows else []
        fmt = _format(result, output_format)
        try:
            asset = await storage_service.put_asset(
                deps.storage,
                user_id=user_id,
                request_id=request_id,
                asset_class=AssetClass.TTS_OUTPUT,
                data=decoded["audio"][0],
                ext=fmt,
                content_type=CONTENT_TYPES[fmt],
            )
        except Exception:  # the rows above (e.g. who owns a new clip) must be written even when storage fails
            log.exception("tts_output_not_stored", extra={"provider_request_id": request_id})
            asset = None
        stored.extend([asset] if asset else [])
        return [*kept, *stored]

    metered, result = await metered_call(
        deps.session,
        user_id=user_id,
        capability="tts",
        operation=operation,
        estimate=estimate,
        hold_ttl=deps.hold_ttl,
        call=checked_call,
        price=price,
        keep=keep,
    )
    _, duration = decoded["audio"]
    asset = stored[0] if stored else None
    link = await storage_service.presign(deps.storage, asset, deps.presign_ttl) if asset else None
    return {
        "request_id": metered.request.id,
        "audio_content": result["audio_content"],
        "audio_duration": float(duration),
        "output_format": _format(result, output_format),
        "sample_rate": result.get("sample_rate"),
        "audio_url": link.url if link else None,
        "expires_at": isoformat_z(asset.expires_at) if asset and asset.expires_at else None,
        "resemble_url": result.get("url") or result.get("audio_src"),
        "billing": billing_view(metered.usage),
        "raw_response": _without_audio(result),
    }


def audio_replay(deps: TtsDeps, user_id: str) -> Detached:
    """For `Idempotency-Key`: a synthesis's record keeps its response without `audio_content`, which a replay reads
    back from the caller's mirrored copy (the exact bytes Resemble sent). A response whose audio was not stored
    (storage failed at the time) is kept whole."""

    async def rebuild(body: dict[str, Any]) -> str | None:
        asset = await storage_service.find_for_request(
            deps.session, user_id=user_id, request_id=str(body.get("request_id"))
        )
        if asset is None or storage_service.is_expired(asset):
            return None
        try:
            audio = await deps.storage.get_bytes(asset.storage_key)
        except StorageError:
            return None
        return base64.b64encode(audio).decode("ascii")

    return Detached(field="audio_content", applies=lambda body: bool(body.get("audio_url")), rebuild=rebuild)


def _format(result: dict[str, Any], requested: str) -> str:
    fmt = str(result.get("output_format") or requested).lower()
    return fmt if fmt in CONTENT_TYPES else requested


def _without_audio(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k != "audio_content"}
