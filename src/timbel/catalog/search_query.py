"""SQL of the catalog search: word matching per database, filters and ranking (no user text in SQL).

Words of three or more characters go to trigram indexes (SQLite FTS5 ``trigram``, PostgreSQL
``pg_trgm`` with ILIKE). Trigram indexes cannot narrow one- or two-character words — common in
Korean (은행, 뱅킹) — so those go to the index of character unigrams and bigrams (``grams``).
User text reaches SQL only as bound values: FTS5 queries are quoted phrases (``"`` doubled),
LIKE patterns have ``\\``, ``%`` and ``_`` escaped.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Integer, Text, and_, case, column, func, or_, text, type_coerce
from sqlalchemy.dialects import postgresql

from timbel.catalog.search_index import value_list
from timbel.catalog.search_models import SearchEntry, encode_gram
from timbel.core.errors import ValidationFailed

MAX_QUERY = 200
MAX_WORDS = 10
E = SearchEntry.__table__.c


def parse_words(q: str) -> list[str]:
    """Split a query into distinct lower-case words, refusing empty, over-long or wordy queries."""
    problem: tuple[str, str] | None = None
    if len(q) > MAX_QUERY:
        problem = ("search.too_long", f"at most {MAX_QUERY} characters")
    words = list(dict.fromkeys(q.lower().split()))
    if not words:
        problem = ("search.empty", "type at least one character")
    elif len(words) > MAX_WORDS:
        problem = ("search.too_many_words", f"at most {MAX_WORDS} words")
    if problem is not None:
        raise ValidationFailed(
            "Invalid search query.", errors=[{"loc": ["query", "q"], "type": problem[0], "msg": problem[1]}]
        )
    return words


def fts_phrase(value: str) -> str:
    """Quote a value as one FTS5 phrase (double quotes doubled), so no query syntax survives."""
    return '"' + value.replace('"', '""') + '"'


def like_pattern(word: str) -> str:
    """A ``%word%`` pattern with ``\\``, ``%`` and ``_`` escaped (use with ``escape='\\'``)."""
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _fts_rowids(table: str, query: str, name: str) -> Any:
    stmt = text(f"SELECT rowid FROM {table} WHERE {table} MATCH :{name}")  # noqa: S608 - fixed names
    return stmt.bindparams(**{name: query}).columns(column("rowid", Integer))


def match(dialect: str, words: list[str]) -> ColumnElement[bool]:
    """Entries whose title or body contains every (lower-case) word, compared in lower case."""
    long_words = [w for w in words if len(w) >= 3]
    short_words = [w for w in words if len(w) < 3]
    if dialect == "sqlite":
        conditions = []
        if long_words:
            conditions.append(
                E.id.in_(_fts_rowids("search_fts", " ".join(map(fts_phrase, long_words)), "fts"))
            )
        if short_words:
            tokens = " ".join(fts_phrase(encode_gram(w)) for w in short_words)
            conditions.append(E.id.in_(_fts_rowids("search_grams", tokens, "grams")))
        return and_(*conditions)
    texts: list[ColumnElement[bool]] = [E.text_key.like(like_pattern(w), escape="\\") for w in long_words]
    if short_words:
        grams = type_coerce(E.grams, postgresql.ARRAY(Text()))
        texts.append(grams.contains(type_coerce(short_words, postgresql.ARRAY(Text()))))
    return and_(*texts)


def score(dialect: str, words: list[str]) -> ColumnElement[int]:
    """4 exact title, 3 title starts with the first word, 2 every word in the title, 1 some, 0 body only."""
    title = E.title_key
    find = func.instr if dialect == "sqlite" else func.strpos
    in_title = [find(title, w) > 0 for w in words]
    tiers: list[tuple[ColumnElement[bool], int]] = [
        (~or_(*in_title), 0),  # most matches: settled by one look per word
        (title == " ".join(words), 4),
        (func.substr(title, 1, len(words[0])) == words[0], 3),
    ]
    if len(words) > 1:
        tiers.append((and_(*in_title), 2))
        return case(*tiers, else_=1)
    return case(*tiers, else_=2)


def has_value(values_column: Any, value: str) -> ColumnElement[bool]:
    """The ``,a,b,`` list in the column holds ``value`` (case-insensitive)."""
    return values_column.contains(value_list([value]), autoescape=True)  # type: ignore[no-any-return]
