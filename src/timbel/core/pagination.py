"""Lists: one paging shape (``?page=&per_page=`` → ``{items,total,page,per_page}``), sorting, text search."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from timbel.core.errors import ValidationFailed

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


def text_search(q: str, *columns: Any) -> ColumnElement[bool]:
    """Match a case-insensitive substring in any of the columns; ``%`` and ``_`` in ``q`` are literal."""
    needle = q.strip().lower()
    return or_(*(func.lower(column).contains(needle, autoescape=True) for column in columns))


def sort_order(sorts: Mapping[str, Any], sort: str) -> Any:
    """Turn ``field`` or ``-field`` into an ORDER BY clause, refusing fields not offered."""
    column = sorts.get(sort.lstrip("-"))
    if column is None:
        raise ValidationFailed(
            "Unknown sort field.",
            errors=[{"loc": ["query", "sort"], "type": "sort.unknown", "msg": f"one of {', '.join(sorts)}"}],
        )
    return column.desc() if sort.startswith("-") else column.asc()


def fetch_page(
    session: Session, stmt: Select[Any], *, model: Any, order: Any, paging: PageParams
) -> tuple[list[Any], int]:
    """Count a filtered ``select(model)`` and load one page of it, ordered by ``order`` then id.

    The page's ids are found first (an index-only walk when an index on the sort column exists),
    then only those rows are loaded: deep pages no longer sort or skip whole rows.
    """
    total = session.scalar(select(func.count()).select_from(stmt.with_only_columns(model.id).subquery())) or 0
    ids = list(
        session.scalars(
            stmt.with_only_columns(model.id)
            .order_by(order, model.id)
            .offset(paging.offset)
            .limit(paging.per_page)
        ).all()
    )
    if not ids:
        return [], total
    rows = {row.id: row for row in session.scalars(select(model).where(model.id.in_(ids)))}
    return [rows[i] for i in ids if i in rows], total
