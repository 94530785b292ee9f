"""Identities on the app API (RESEMBLE_API.md "Identity"):

- `POST /identity`, simple form `{name, url | signed_id}` (or multipart `audio`): the audio is fetched like
  Resemble's workers would and the voice enrolled at once; the multimodal form `{identity: {name, ...}}` creates
  an identity with no voice enrolled (it matches nothing until media is attached, which the simulator omits);
- `POST /identity/search` `{url | signed_id, modality?, top_k 1-20}` -> the `top_k` closest enrolled identities
  of the account as `{uuid: {name, distance}}`, closest first;
- `GET /identity` (paged, newest first, `search` filters by name), `DELETE /identity/{uuid}`. Like Resemble,
  there is no `GET /identity/{uuid}`.

The voice "embedding" is a fixed function of the audio bytes (SHA-256 spread over 32 dimensions), so matching is
deterministic: a sample byte-identical to an enrolled file is at distance 100, unrelated files land near 50.
Identities are kept per API key, like every object an account creates.
"""

from __future__ import annotations

import copy
import hashlib
import math
import threading
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request

from .accounts import new_uuid, now_iso
from .auth import extract_key
from .bodies import VALIDATION_STATUS
from .errors import SimulatorError
from .intake import (
    Body,
    base_url,
    enum_field,
    file_field,
    number_field,
    page_query,
    paged,
    read_body,
    str_field,
    token_upload,
    url_field,
)
from .jobs import FetchError, media_url
from .media import MediaError, probe
from .params import FieldErrors
from .state import get_state

router = APIRouter(prefix="/api/v2")

MAX_NAME_CHARS = 120
MAX_TOP_K = 20
MODALITIES = ("audio", "image", "video")


@dataclass(frozen=True)
class Enrolled:
    item: dict[str, Any]
    embedding: tuple[float, ...] | None  # None: no voice enrolled yet


class Identities:
    """Every account's identities, by API key, in creation order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_key: dict[str, dict[str, Enrolled]] = {}

    def add(self, key: str, entry: Enrolled) -> None:
        with self._lock:
            self._by_key.setdefault(key, {})[entry.item["uuid"]] = entry

    def remove(self, key: str, uuid: str) -> bool:
        with self._lock:
            return self._by_key.get(key, {}).pop(uuid, None) is not None

    def all(self, key: str) -> list[Enrolled]:
        with self._lock:
            return copy.deepcopy(list(self._by_key.get(key, {}).values()))


def embedding_of(audio: bytes) -> tuple[float, ...]:
    digest = hashlib.sha256(audio).digest()
    vector = [(byte - 127.5) / 127.5 for byte in digest]
    norm = math.sqrt(sum(value * value for value in vector)) or 1.0
    return tuple(value / norm for value in vector)


def distance(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Cosine similarity mapped to Resemble's 0-100 scale (higher is closer; identical audio is 100)."""
    cosine = max(-1.0, min(1.0, sum(x * y for x, y in zip(a, b, strict=True))))
    return round(50.0 * (1.0 + cosine), 2)


def _identities(request: Request) -> tuple[Identities, str]:
    registry = request.app.state.identities
    assert isinstance(registry, Identities)
    return registry, extract_key(request.headers) or ""


async def _sample(request: Request, body: Body, errors: FieldErrors, *, file_name: str) -> bytes | None:
    """The media of a create or search: exactly one of `url` (fetched), `signed_id` or an uploaded file."""
    engine = get_state(request).jobs
    url = url_field(body, "url", errors)
    signed = str_field(body, "signed_id", errors)
    part = file_field(body, file_name, errors)
    if sum(value is not None for value in (url, signed, part)) != 1:
        errors.add("url", f"is required: give exactly one of url, signed_id or {file_name}")
    if errors.errors:
        return None
    if signed is not None:
        part = token_upload(engine, signed, errors, "signed_id")
    if part is not None:
        return part.data
    if url is None:
        return None
    try:
        return await engine.fetch(url)
    except FetchError as exc:
        errors.add("url", str(exc))
        return None


def _kind(data: bytes | None, errors: FieldErrors) -> str | None:
    if data is None:
        return None
    try:
        return probe(data).media_type
    except MediaError as exc:
        errors.add("url", str(exc))
        return None


@router.post("/identity")
async def create_identity(request: Request) -> dict[str, Any]:
    body = await read_body(request)
    errors = FieldErrors()
    nested = body.fields.get("identity")
    if isinstance(nested, dict):
        name = str_field(Body(nested, {}, False), "name", errors, required=True, max_len=MAX_NAME_CHARS)
        errors.raise_if_any(VALIDATION_STATUS)
        return _store(request, _item(str(name), nested), None)
    name = str_field(body, "name", errors, required=True, max_len=MAX_NAME_CHARS)
    audio = await _sample(request, body, errors, file_name="audio")
    kind = _kind(audio, errors)
    if kind not in (None, "audio"):
        errors.add("url", f"must be audio, not {kind}")
    errors.raise_if_any(VALIDATION_STATUS)
    assert name is not None
    assert audio is not None
    item = _item(name, {})
    token = get_state(request).jobs.store_media(probe(audio).extension, data=audio)
    item["audio_url"] = media_url(base_url(request), token)
    return _store(request, item, embedding_of(audio))


def _item(name: str, fields: dict[str, Any]) -> dict[str, Any]:
    stamp = now_iso()
    return {
        "uuid": new_uuid(),
        "name": name,
        "created_at": stamp,
        "audio_url": None,
        "visibility": fields.get("visibility") or "team",
        "identity_type": fields.get("identity_type") or "person",
        "notes": fields.get("notes"),
        "voice_profile_id": fields.get("voice_profile_id"),
        "updated_at": stamp,
        "project_count": 0,
    }


def _store(request: Request, item: dict[str, Any], embedding: tuple[float, ...] | None) -> dict[str, Any]:
    registry, key = _identities(request)
    registry.add(key, Enrolled(item, embedding))
    get_state(request).jobs.wallet.charge("identity_enroll", Decimal(1))
    return {"success": embedding is not None, "item": item}


@router.post("/identity/search")
async def search_identities(request: Request) -> dict[str, Any]:
    body = await read_body(request)
    errors = FieldErrors()
    top_k = number_field(body, "top_k", errors, default=1, minimum=1, maximum=MAX_TOP_K, integer=True)
    modality = enum_field(body, "modality", errors, MODALITIES, default=None)
    sample = await _sample(request, body, errors, file_name="file")
    kind = _kind(sample, errors)
    modality = modality or ("image" if kind == "image" else "audio")  # inferred from the media, as Resemble does
    if modality == "video":
        errors.add("modality", "video search is not supported")
    elif kind is not None and kind != modality:
        errors.add("url", f"must be {modality}, not {kind}")
    errors.raise_if_any(VALIDATION_STATUS)
    assert sample is not None
    assert top_k is not None
    get_state(request).jobs.wallet.charge("identity_search", Decimal(1))
    if modality == "image":  # no face is ever enrolled here, so an image matches nothing
        return {"success": True, "modality": "image", "item": {}}
    probe_vector = embedding_of(sample)
    registry, key = _identities(request)
    scored = [
        (distance(probe_vector, entry.embedding), entry.item)
        for entry in registry.all(key)
        if entry.embedding is not None
    ]
    scored.sort(key=lambda pair: (-pair[0], pair[1]["created_at"], pair[1]["uuid"]))
    matches = {item["uuid"]: {"name": item["name"], "distance": score} for score, item in scored[: int(top_k)]}
    return {"success": True, "modality": "audio", "item": matches}


@router.get("/identity")
async def list_identities(request: Request) -> dict[str, Any]:
    page, size = page_query({"page": "1", **request.query_params})  # page is optional here, 1 by default
    needle = (request.query_params.get("search") or "").lower()
    registry, key = _identities(request)
    items = [entry.item for entry in reversed(registry.all(key)) if needle in entry.item["name"].lower()]
    return paged(items, page, size)


@router.delete("/identity/{identity_uuid}")
async def delete_identity(request: Request, identity_uuid: str) -> dict[str, Any]:
    registry, key = _identities(request)
    if not registry.remove(key, identity_uuid):
        raise SimulatorError(404, f"Identity {identity_uuid} not found")
    return {"success": True}
