"""Unified catalog search: Korean and English substrings across every kind, scoped by domain.

Every word must match (``search_query.match``). One grouped query counts the matches per
(kind, domain, stage, languages); the total and the facet counts are summed from those groups
(a facet applies every filter but its own). A second query ranks and pages the matches: exact
title, title prefix, all words in the title, some word in the title, body only; then the most
recently changed. Everything (items, totals, facets) is limited to the caller's domains.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    String,
    cast,
    false,
    func,
    literal_column,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy import null as sql_null
from sqlalchemy.orm import Session

from timbel.auth.principal import Principal
from timbel.catalog import search_query
from timbel.catalog import service as catalog_service
from timbel.catalog.models import Domain
from timbel.catalog.search_index import value_list
from timbel.catalog.search_query import MAX_QUERY, MAX_WORDS, E, parse_words
from timbel.catalog.search_snippets import highlight, match_spans, snippet
from timbel.core.pagination import PageParams

__all__ = ["MAX_QUERY", "MAX_WORDS", "SearchFilters", "SearchHit", "SearchResult", "parse_words", "search"]
KINDS = ("domain", "project", "system", "component", "document", "design_asset")
URL_SEGMENTS = {
    "domain": "domains",
    "project": "projects",
    "system": "systems",
    "component": "components",
    "document": "documents",
    "design_asset": "design-assets",
}
FACETED = ("kind", "domain", "stage", "language")


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """Optional narrowing of a search; ``domain`` is a domain id or code."""

    kind: str | None = None
    domain: str | None = None
    stage: str | None = None
    language: str | None = None
    tag: str | None = None
    system_id: str | None = None


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One matching entity with its highlighted title and snippet."""

    kind: str
    id: str
    title: str
    title_html: Markup
    snippet: str
    snippet_html: Markup
    domain_id: str
    domain_code: str
    domain_name: str
    url: str
    score: int


@dataclass(slots=True)
class SearchResult:
    """A page of hits, the total, and facet counts (``domain`` keyed by code)."""

    hits: list[SearchHit]
    total: int
    page: int
    per_page: int
    facets: dict[str, dict[str, int]]
    domain_names: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Wanted:
    """The faceted filters, normalised (``domain`` resolved to a visible id, or ``""`` for none)."""

    kind: str | None
    domain: str | None
    stage: str | None
    language: str | None


def _wanted(session: Session, principal: Principal, filters: SearchFilters) -> _Wanted:
    domain: str | None = None
    if filters.domain:
        found = session.scalar(
            select(Domain.id).where(or_(Domain.id == filters.domain, Domain.code == filters.domain)).limit(1)
        )
        visible = found is not None and (catalog_service.sees_all(principal) or found in principal.domain_ids)
        domain = str(found) if visible else ""  # unknown and invisible look the same: nothing matches
    return _Wanted(
        kind=filters.kind or None,
        domain=domain,
        stage=filters.stage.lower() if filters.stage else None,
        language=value_list([filters.language]).strip(",") if filters.language else None,
    )


def _tally(
    groups: list[tuple[str, str, str | None, str, int]], wanted: _Wanted
) -> tuple[int, dict[str, dict[str, int]]]:
    """Total and facet counts from the match groups (kind, domain id, stage, languages, count).

    A group counts for the total when it passes every filter, and for a facet when it passes
    every filter but that facet's own.
    """
    facets: dict[str, dict[str, int]] = {
        "kind": dict.fromkeys(KINDS, 0),
        "domain": {},
        "stage": {},
        "language": {},
    }
    total = 0
    for kind, domain_id, stage, languages, n in groups:
        values = {
            "kind": (kind,),
            "domain": (domain_id,),
            "stage": (stage,) if stage else (),
            "language": tuple(languages.strip(",").split(",")) if languages else (),
        }
        failed = [
            name
            for name, value in (
                ("kind", wanted.kind),
                ("domain", wanted.domain),
                ("stage", wanted.stage),
                ("language", wanted.language),
            )
            if value is not None and value not in values[name]
        ]
        if len(failed) > 1:
            continue
        if not failed:
            total += n
        for facet in failed or FACETED:
            counts = facets[facet]
            for value in values[facet]:
                counts[value] = counts.get(value, 0) + n
    return total, facets


def _narrowing(cols: Any, wanted: _Wanted) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if wanted.kind is not None:
        conditions.append(cols.kind == wanted.kind)
    if wanted.domain is not None:
        conditions.append(cols.domain_id == wanted.domain if wanted.domain else false())
    if wanted.stage is not None:
        conditions.append(cols.stage == wanted.stage)
    if wanted.language is not None:
        conditions.append(search_query.has_value(cols.languages, wanted.language))
    return conditions


def _groups_and_page(
    session: Session,
    dialect: str,
    words: list[str],
    base: list[ColumnElement[bool]],
    wanted: _Wanted,
    paging: PageParams,
) -> tuple[list[tuple[str, str, str | None, str, int]], list[tuple[int, int]]]:
    """One statement over the matches: their groups for counting, and one ranked page (id, score)."""
    score = search_query.score(dialect, words).label("score")
    m = select(E.id, E.kind, E.domain_id, E.stage, E.languages, E.updated_at, score).where(*base)
    matches = m.cte("m").prefix_with("MATERIALIZED")
    c = matches.c

    def null(name: str, kind: Any = String) -> Any:
        return cast(sql_null(), kind).label(name)

    groups = select(
        literal_column("'g'").label("part"),
        *(c.kind, c.domain_id, c.stage, c.languages),
        func.count().label("n"),
        *(null("entry_id", Integer), null("score", Integer)),
    ).group_by(c.kind, c.domain_id, c.stage, c.languages)
    page = (
        select(
            literal_column("'p'").label("part"),
            *(null("kind"), null("domain_id"), null("stage"), null("languages"), null("n", BigInteger)),
            c.id.label("entry_id"),
            c.score,
        )
        .where(*_narrowing(c, wanted))
        .order_by(c.score.desc(), c.updated_at.desc(), c.id.desc())
        .offset(paging.offset)
        .limit(paging.per_page)
        .subquery()
    )
    found: list[tuple[str, str, str | None, str, int]] = []
    ranked: list[tuple[int, int]] = []
    for part, kind, domain_id, stage, languages, n, entry_id, entry_score in session.execute(
        union_all(groups, select(page))
    ):
        if part == "g":
            found.append((kind, domain_id, stage, languages, n))
        else:
            ranked.append((entry_id, entry_score))
    return found, ranked


def search(
    session: Session,
    *,
    principal: Principal,
    q: str,
    paging: PageParams,
    filters: SearchFilters | None = None,
) -> SearchResult:
    """Find visible catalog entities whose title or text contains every word of ``q``."""
    words = parse_words(q)
    filters = filters or SearchFilters()
    dialect = session.get_bind().dialect.name
    base = [search_query.match(dialect, words)]
    if not catalog_service.sees_all(principal):
        base.append(E.domain_id.in_(sorted(principal.domain_ids)))
    if filters.tag:
        base.append(search_query.has_value(E.tags, filters.tag))
    if filters.system_id:
        base.append(E.system_id == filters.system_id)
    wanted = _wanted(session, principal, filters)
    restore = _prefer_index_scans(session, dialect)
    groups, ranked = _groups_and_page(session, dialect, words, base, wanted, paging)
    if restore is not None:
        session.execute(text("SELECT set_config('random_page_cost', :value, true)"), {"value": restore})
    total, facets = _tally(groups, wanted)
    ids = {group[1] for group in groups}
    domains = {
        row.id: row
        for row in session.execute(select(Domain.id, Domain.code, Domain.name).where(Domain.id.in_(ids)))
    }
    facets["domain"] = {domains[d].code: n for d, n in facets["domain"].items() if d in domains}
    names = {row.code: row.name for row in domains.values()}
    return SearchResult(
        _hits(session, ranked, domains, words), total, paging.page, paging.per_page, facets, names
    )


def _hits(
    session: Session, ranked: list[tuple[int, int]], domains: dict[str, Any], words: list[str]
) -> list[SearchHit]:
    """Load the page's entries in rank order and cut a snippet from each."""
    if not ranked:
        return []
    scores = dict(ranked)
    details = select(E.id, E.kind, E.entity_id, E.title, E.body, E.domain_id).where(E.id.in_(list(scores)))
    order = {entry_id: position for position, (entry_id, _) in enumerate(ranked)}
    rows = sorted(session.execute(details), key=lambda row: order[row.id])
    return [_hit(row, scores[row.id], domains[row.domain_id], words) for row in rows]


def _prefer_index_scans(session: Session, dialect: str) -> str | None:
    """On PostgreSQL, price random reads like cached ones for this search (returns the old price).

    The trigram and gram indexes are small and hot; with the default price PostgreSQL scans the
    whole table for common words and decompresses every row's grams, which is many times slower.
    """
    if dialect != "postgresql":
        return None
    settings = text("SELECT current_setting('random_page_cost'), set_config('random_page_cost', '1.1', true)")
    return str(session.execute(settings).one()[0])


def _hit(row: Any, score: int, domain: Any, words: list[str]) -> SearchHit:
    plain, html = snippet(row.body, words)
    return SearchHit(
        kind=row.kind,
        id=row.entity_id,
        title=row.title,
        title_html=highlight(row.title, match_spans(row.title, words)),
        snippet=plain,
        snippet_html=html,
        domain_id=row.domain_id,
        domain_code=domain.code,
        domain_name=domain.name,
        url=f"/catalog/{URL_SEGMENTS[row.kind]}/{row.entity_id}",
        score=int(score),
    )
