"""Catalog API: unified search across every catalog kind."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from timbel.auth.deps import require
from timbel.auth.permissions import Permission
from timbel.auth.principal import Principal
from timbel.catalog import search_service
from timbel.catalog.search_schemas import SearchDomainRef, SearchFacets, SearchHitRead, SearchKind, SearchPage
from timbel.core.deps import SessionDep
from timbel.core.pagination import PageDep

router = APIRouter(prefix="/api/v1/search", tags=["catalog"])
Reader = Annotated[Principal, Depends(require(Permission.catalog_read))]


@router.get("")
def search_catalog(
    principal: Reader,
    session: SessionDep,
    paging: PageDep,
    q: Annotated[str, Query(min_length=1, max_length=search_service.MAX_QUERY, description="Words to find.")],
    kind: SearchKind | None = None,
    domain: Annotated[str | None, Query(max_length=64, description="Domain id or code.")] = None,
    stage: Annotated[str | None, Query(max_length=16)] = None,
    language: Annotated[str | None, Query(max_length=64)] = None,
    tag: Annotated[str | None, Query(max_length=100)] = None,
) -> SearchPage:
    """Search visible domains, projects, systems, components, documents and design assets."""
    result = search_service.search(
        session,
        principal=principal,
        q=q,
        paging=paging,
        filters=search_service.SearchFilters(
            kind=kind.value if kind else None, domain=domain, stage=stage, language=language, tag=tag
        ),
    )
    items = [
        SearchHitRead(
            kind=SearchKind(hit.kind),
            id=hit.id,
            title=hit.title,
            title_html=str(hit.title_html),
            snippet=hit.snippet,
            snippet_html=str(hit.snippet_html),
            domain=SearchDomainRef(id=hit.domain_id, code=hit.domain_code, name=hit.domain_name),
            url=hit.url,
            score=hit.score,
        )
        for hit in result.hits
    ]
    return SearchPage(
        items=items,
        total=result.total,
        page=result.page,
        per_page=result.per_page,
        facets=SearchFacets(**result.facets),
    )
