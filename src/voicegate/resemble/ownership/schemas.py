"""Wire shapes shared by every owned kind: the list envelope and the delete answer."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

from voicegate.errors import described

ItemT = TypeVar("ItemT", bound=BaseModel)


class Page(BaseModel, Generic[ItemT]):
    success: bool
    page: int
    num_pages: int
    page_size: int
    total_count: int
    items: list[ItemT]


class Envelope(BaseModel, Generic[ItemT]):
    success: bool
    item: ItemT


class Deleted(BaseModel):
    success: bool = True
    uuid: str = Field(description="The upstream id that was deleted")


class Paging(BaseModel):
    """`page` / `page_size` as the SDK sends them (page_size 10-1000, like Resemble's own lists)."""

    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(10, ge=10, le=1000)


ERROR_DESCRIPTIONS = {
    400: "Malformed request body",
    401: "Missing or invalid credentials",
    402: "Insufficient credits",
    404: "Unknown object, or someone else's",
    409: "A request with this Idempotency-Key is still running",
    413: "Media larger than the gateway accepts",
    415: "Media that is not a supported audio format",
    422: "Invalid fields, an unsafe URL, or Resemble's own validation",
    429: "Rate limit exceeded",
    502: "Resemble upstream error",
    503: "Upstream circuit open, or the new object could not be recorded",
}


def error_responses(*extra: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for an owned-object route: the errors every one can answer, plus `extra` codes."""
    codes = sorted({400, 401, 404, 422, 429, 502, 503, *extra})
    return described({code: ERROR_DESCRIPTIONS[code] for code in codes})
