"""Pages of a list: ``?limit=&offset=`` in, ``{items, total, limit, offset}`` out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field

T = TypeVar("T")

MAX_LIMIT = 500
DEFAULT_LIMIT = 50
# Far beyond any list, and inside the 64-bit integers both databases take for OFFSET.
MAX_OFFSET = 2**31 - 1


class PageParams(BaseModel):
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)

    def slice(self, items: Sequence[T]) -> list[T]:
        return list(items[self.offset : self.offset + self.limit])


def page_params(
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description="Most items in the page (1 to 500).")
    ] = DEFAULT_LIMIT,
    offset: Annotated[
        int, Query(ge=0, le=MAX_OFFSET, description="Items skipped before the page.")
    ] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


# ``params: Paging`` in a route gives the validated limit and offset.
Paging = Annotated[PageParams, Depends(page_params)]


class Page(BaseModel, Generic[T]):
    """One page of a list; ``total`` counts every item that matched the filters."""

    items: list[T]
    total: int = Field(ge=0)
    limit: int = Field(ge=1, le=MAX_LIMIT)
    offset: int = Field(ge=0, le=MAX_OFFSET)

    @classmethod
    def of(cls, items: Sequence[T], params: PageParams) -> Page[T]:
        """The page ``params`` asks for out of the whole matching list."""
        return cls(
            items=params.slice(items), total=len(items), limit=params.limit, offset=params.offset
        )
