"""The search index table: one denormalised row per catalog entity (``search_entries``).

The rows are written by ``search_index`` (session events and ``reindex``). What makes them
searchable is created by migration 0005 as raw DDL and is invisible to the ORM: SQLite FTS5
tables ``search_fts`` (trigram, over ``text_key``) and ``search_grams`` (unigrams/bigrams) kept in
step by triggers, plus a covering index of the columns counting and ranking read; PostgreSQL GIN
indexes (pg_trgm on ``text_key``, array index on ``grams``).
See docs/decisions/0006-korean-search.md.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine

from timbel.core.db import Base

# Objects migration 0005 creates outside the ORM's metadata (autogenerate must not drop them).
SEARCH_DDL_NAMES = frozenset(
    {
        "search_fts",
        "search_grams",
        "ix_search_entries_hot",
        "ix_search_entries_text_trgm",
        "ix_search_entries_grams",
    }
)
FTS5_SHADOW_SUFFIXES = ("_config", "_content", "_data", "_docsize", "_idx")


def is_search_ddl(name: str | None) -> bool:
    """Tell whether a table or index name belongs to the raw-DDL part of the search index."""
    if not name:
        return False
    if name in SEARCH_DDL_NAMES:
        return True
    return any(
        name == f"{base}{suffix}"
        for base in ("search_fts", "search_grams")
        for suffix in FTS5_SHADOW_SUFFIXES
    )


def include_name(name: str | None, type_: str, _parent: Any) -> bool:
    """Alembic ``include_name`` hook: leave the search index's FTS tables and GIN indexes alone."""
    return not (type_ in ("table", "index") and is_search_ddl(name))


def encode_gram(gram: str) -> str:
    """Spell a gram as one FTS5 ``ascii`` token: ASCII punctuation becomes ``ǂ`` + hex, ``ǂ`` doubles."""
    out: list[str] = []
    for ch in gram:
        if ch == "ǂ":
            out.append("ǂǂ")
        elif ch.isascii() and not ch.isalnum():
            out.append(f"ǂ{ord(ch):02x}")
        else:
            out.append(ch)
    return "".join(out)


class Grams(TypeDecorator[list[str]]):
    """Character unigrams and bigrams: ``text[]`` on PostgreSQL, one line of FTS5 tokens on SQLite."""

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.ARRAY(Text()))
        return dialect.type_descriptor(Text())

    def process_bind_param(self, value: list[str] | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if dialect.name == "postgresql":
            return list(value)
        return " ".join(encode_gram(gram) for gram in value)

    def process_result_value(self, value: Any, dialect: Dialect) -> list[str] | None:
        if value is None:
            return None
        return list(value) if dialect.name == "postgresql" else str(value).split()


class SearchEntry(Base):
    """One catalog entity as the search finds, filters, counts and ranks it; removed with its entity.

    Column order matters on SQLite: what counting and ranking read comes first (and sits in the
    covering index ``ix_search_entries_hot`` created by migration 0005), the text comes last.
    """

    __tablename__ = "search_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    domain_id: Mapped[str] = mapped_column(ForeignKey("domains.id", ondelete="CASCADE"), index=True)
    stage: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # Lower-case values wrapped in commas (",java,python,"), so one LIKE finds one value.
    languages: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime]
    title_key: Mapped[str] = mapped_column(String(300))  # the title in lower case, for ranking
    title: Mapped[str] = mapped_column(String(300))
    entity_id: Mapped[str] = mapped_column(String(36), unique=True)
    project_id: Mapped[str | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), nullable=True, index=True
    )
    system_id: Mapped[str | None] = mapped_column(
        ForeignKey("systems.id", ondelete="CASCADE"), nullable=True, index=True
    )
    component_id: Mapped[str | None] = mapped_column(
        ForeignKey("components.id", ondelete="CASCADE"), nullable=True, index=True
    )
    document_id: Mapped[str | None] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), nullable=True, index=True
    )
    design_asset_id: Mapped[str | None] = mapped_column(
        ForeignKey("design_assets.id", ondelete="CASCADE"), nullable=True, index=True
    )
    digest: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)  # as written, for snippets
    text_key: Mapped[str] = mapped_column(Text)  # title and body in lower case: what words are matched in
    grams: Mapped[list[str]] = mapped_column(Grams())
