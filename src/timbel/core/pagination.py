"""One paging shape for every list: ``?page=&per_page=`` in, ``{items, total, page, per_page}`` out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel

MAX_PER_PAGE = 200
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PageParams:
    """Which page of a list the caller wants."""

    page: int = 1
    per_page: int = 50

    @property
    def offset(self) -> int:
        """Rows to skip before this page."""
        return (self.page - 1) * self.per_page


def page_params(
    page: Annotated[int, Query(ge=1, le=1_000_000, description="Page number, from 1.")] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE, description="Items per page.")] = 50,
) -> PageParams:
    """Read paging from the query string."""
    return PageParams(page=page, per_page=per_page)


PageDep = Annotated[PageParams, Depends(page_params)]


class Page(BaseModel, Generic[T]):
    """A page of a list and the total number of matching items."""

    items: list[T]
    total: int
    page: int
    per_page: int
