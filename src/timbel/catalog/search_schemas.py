"""API shapes of the unified catalog search."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field


class SearchKind(StrEnum):
    """The catalog kinds the search covers."""

    domain = "domain"
    project = "project"
    system = "system"
    component = "component"
    document = "document"
    design_asset = "design_asset"


class SearchDomainRef(BaseModel):
    """The domain a hit belongs to."""

    id: str
    code: str
    name: str


class SearchHitRead(BaseModel):
    """One hit: plain and highlighted (HTML-escaped, matches in ``<mark>``) title and snippet."""

    kind: SearchKind
    id: str
    title: str
    title_html: str
    snippet: str
    snippet_html: str
    domain: SearchDomainRef
    url: str = Field(description="The entity's page.")
    score: int = Field(description="4 exact title, 3 title prefix, 2 all words in title, 1 some, 0 body.")


class SearchFacets(BaseModel):
    """Matches per value of each dimension, counting every filter but the dimension's own."""

    kind: dict[str, int]
    domain: dict[str, int] = Field(description="Keyed by domain code.")
    stage: dict[str, int]
    language: dict[str, int]


class SearchPage(BaseModel):
    """A page of search hits with the total and facet counts."""

    items: list[SearchHitRead]
    total: int
    page: int
    per_page: int
    facets: SearchFacets
