"""Catalog pages: unified search with kind/domain/stage facets and highlighted snippets."""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from timbel.auth.deps import require_page
from timbel.auth.permissions import Permission
from timbel.auth.principal import Principal
from timbel.catalog import search_service
from timbel.core.deps import SessionDep
from timbel.core.errors import ValidationFailed
from timbel.core.pagination import PageParams
from timbel.web.i18n import N_
from timbel.web.templating import render

router = APIRouter(prefix="/catalog/search", tags=["web"], include_in_schema=False)
Reader = Annotated[Principal, Depends(require_page(Permission.catalog_read))]
PAGE_SIZE = 20
KIND_LABELS = {
    "domain": N_("Customer domain"),
    "project": N_("Project"),
    "system": N_("System"),
    "component": N_("Component"),
    "document": N_("Document"),
    "design_asset": N_("Design asset"),
}
STAGE_LABELS = {
    "development": N_("Development"),
    "staging": N_("Staging"),
    "production": N_("Production"),
}
QUERY_ERRORS = {
    "search.too_long": N_("The search is too long: use at most %(count)s characters."),
    "search.too_many_words": N_("Use at most %(count)s words."),
    "search.empty": N_("Type a word to search for."),
}
ERROR_LIMITS = {
    "search.too_long": search_service.MAX_QUERY,
    "search.too_many_words": search_service.MAX_WORDS,
}


@router.get("", response_class=HTMLResponse)
def search_page(
    request: Request,
    principal: Reader,
    session: SessionDep,
    q: Annotated[str, Query(max_length=1000)] = "",
    kind: Annotated[str, Query(max_length=16)] = "",
    domain: Annotated[str, Query(max_length=64)] = "",
    stage: Annotated[str, Query(max_length=16)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """Search every visible catalog kind (the results alone for HTMX live updates)."""
    filters = {
        "q": q,
        "kind": kind if kind in KIND_LABELS else "",
        "domain": domain,
        "stage": stage if stage in STAGE_LABELS else "",
    }
    result: search_service.SearchResult | None = None
    error: dict[str, Any] | None = None
    if q.strip():
        try:
            result = search_service.search(
                session,
                principal=principal,
                q=q,
                paging=PageParams(page=page, per_page=PAGE_SIZE),
                filters=search_service.SearchFilters(
                    kind=filters["kind"] or None, domain=domain or None, stage=filters["stage"] or None
                ),
            )
        except ValidationFailed as exc:
            code = str(exc.errors[0]["type"]) if exc.errors else "search.empty"
            error = {
                "text": QUERY_ERRORS.get(code, QUERY_ERRORS["search.empty"]),
                "count": ERROR_LIMITS.get(code, 0),
            }
    context = {
        "result": result,
        "error": error,
        "filters": filters,
        "domain_options": _domain_options(result, domain),
        "page": page,
        "pages": max(1, math.ceil(result.total / PAGE_SIZE)) if result else 1,
        "kind_labels": KIND_LABELS,
        "stage_labels": STAGE_LABELS,
    }
    partial = request.headers.get("hx-target") == "search-results" and not request.headers.get(
        "hx-history-restore-request"
    )
    context["oob_filters"] = partial
    return render(request, "catalog/_search_results.html" if partial else "catalog/search.html", context)


def _domain_options(result: search_service.SearchResult | None, chosen: str) -> list[dict[str, Any]]:
    """Domains with matches (name and count), keeping the chosen one listed even without matches."""
    if result is None:
        return [{"code": chosen, "name": chosen, "count": None}] if chosen else []
    options = [
        {"code": code, "name": result.domain_names.get(code, code), "count": count}
        for code, count in sorted(result.facets["domain"].items(), key=lambda item: (-item[1], item[0]))
    ]
    if chosen and all(o["code"] != chosen for o in options):
        options.append({"code": chosen, "name": chosen, "count": 0})
    return options
