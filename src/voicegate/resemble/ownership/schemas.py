"""Wire shapes shared by every owned kind: the list envelope and the delete answer."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, Field

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
