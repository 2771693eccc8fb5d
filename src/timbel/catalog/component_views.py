"""Catalog pages: code components (코드 컴포넌트) — list, detail with versions and reuse, create, edit."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import Response

from timbel.auth.deps import require_page
from timbel.auth.permissions import Permission
from timbel.auth.principal import Principal
from timbel.catalog import asset_pages, asset_service, component_service, usage
from timbel.catalog.asset_schemas import AssetSource, ComponentCreate, ComponentKind, ComponentUpdate
from timbel.catalog.models import Component
from timbel.core.deps import AuditDep, SessionDep
from timbel.core.errors import AppError
from timbel.core.pagination import PageParams
from timbel.web.forms import FormErrors, discard_changes, read_form, text
from timbel.web.i18n import N_
from timbel.web.redirects import redirect, register_flashes
from timbel.web.templating import render

router = APIRouter(prefix="/catalog/components", tags=["web"], include_in_schema=False)
Reader = Annotated[Principal, Depends(require_page(Permission.catalog_read))]
Writer = Annotated[Principal, Depends(require_page(Permission.catalog_write))]
Form = Annotated[FormData, Depends(read_form)]
KIND_LABELS = {
    "ui": N_("UI"),
    "api": N_("API"),
    "library": N_("Library"),
    "service": N_("Service"),
    "utility": N_("Utility"),
    "data": N_("Data"),
    "other": N_("Other"),
}
SOURCE_LABELS = {"manual": N_("Registered by hand"), "auto": N_("Found by analysis")}
SORT_LABELS = {
    "name": N_("Name"),
    "-reuse_score": N_("Highest reuse score"),
    "-updated_at": N_("Recently changed"),
    "-created_at": N_("Newest"),
}
FIELDS = (
    "system_id",
    "name",
    "kind",
    "language",
    "framework",
    "path",
    "description",
    "reuse_score",
    "commit_sha",
)

register_flashes(
    {
        "component_created": N_("The component was created."),
        "component_saved": N_("The component was saved."),
        "component_deleted": N_("The component was deleted."),
        "component_reused": N_("Your reuse of this component was recorded."),
    }
)


def _labels() -> dict[str, Any]:
    return {"kind_labels": KIND_LABELS, "source_labels": SOURCE_LABELS}


@router.get("", response_class=HTMLResponse)
def component_list(
    request: Request,
    principal: Reader,
    session: SessionDep,
    q: Annotated[str, Query(max_length=200)] = "",
    domain_id: Annotated[str, Query(max_length=36)] = "",
    system_id: Annotated[str, Query(max_length=36)] = "",
    kind: Annotated[str, Query(max_length=32)] = "",
    language: Annotated[str, Query(max_length=64)] = "",
    source: Annotated[str, Query(max_length=8)] = "",
    sort: Annotated[str, Query(max_length=32)] = "name",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """List visible components with search, filters, sorting and paging."""
    filters = {
        "q": q,
        "domain_id": domain_id,
        "system_id": system_id,
        "kind": kind if kind in KIND_LABELS else "",
        "language": language,
        "source": source if source in SOURCE_LABELS else "",
        "sort": sort if sort in SORT_LABELS else "name",
    }
    rows, total = component_service.list_components(
        session,
        principal=principal,
        paging=PageParams(page=page, per_page=asset_pages.PAGE_SIZE),
        q=q or None,
        domain_id=domain_id or None,
        system_id=system_id or None,
        kind=filters["kind"] or None,
        language=language or None,
        source=filters["source"] or None,
        sort=filters["sort"],
    )
    context = {
        "rows": component_service.read_many(session, components=rows),
        **asset_pages.paging(total, page),
        "filters": filters,
        "sort_labels": SORT_LABELS,
        "domains": asset_pages.visible_domains(session, principal),
        "can_write": principal.has(Permission.catalog_write),
        **_labels(),
    }
    return render(request, "catalog/components.html", context)


def _form_page(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    component: Component | None,
    form: dict[str, Any],
    errors: FormErrors | None = None,
    status: int = 200,
) -> HTMLResponse:
    context = {
        "component": component,
        "form": form,
        "errors": errors or FormErrors(),
        "systems": asset_pages.owner_choices(session, principal)["systems"],
        "sources": [s.value for s in AssetSource],
        **_labels(),
    }
    return render(request, "catalog/components_form.html", context, status_code=status)


def _submitted(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {name: text(form, name, limit=20_000) for name in FIELDS}
    values["source"] = text(form, "source") or "manual"
    return values


def _payload(values: dict[str, Any]) -> dict[str, Any]:
    payload = dict(values)
    payload["reuse_score"] = payload["reuse_score"] or 0
    payload["commit_sha"] = payload["commit_sha"] or None
    return payload


@router.get("/new", response_class=HTMLResponse)
def component_new(
    request: Request,
    principal: Writer,
    session: SessionDep,
    system_id: Annotated[str, Query(max_length=36)] = "",
) -> HTMLResponse:
    """Show the form for a new component."""
    blank: dict[str, Any] = {name: "" for name in FIELDS}
    blank.update({"system_id": system_id, "kind": ComponentKind.library.value, "source": "manual"})
    return _form_page(request, session, principal, component=None, form=blank)


@router.post("/new")
def component_create(
    request: Request, principal: Writer, session: SessionDep, audit: AuditDep, form: Form
) -> Response:
    """Create a component from the form."""
    submitted = _submitted(form)
    try:
        data = ComponentCreate.model_validate(_payload(submitted))
        component = component_service.create(session, principal=principal, data=data, ctx=audit)
    except ValidationError as exc:
        errors = asset_pages.form_errors(exc)
    except AppError as exc:
        discard_changes(session, exc)
        errors = asset_pages.form_errors(exc)
    else:
        return redirect(request, f"/catalog/components/{component.id}", flash="component_created")
    return _form_page(request, session, principal, component=None, form=submitted, errors=errors, status=422)


@router.get("/{component_id}", response_class=HTMLResponse)
def component_detail(
    component_id: str,
    request: Request,
    principal: Reader,
    session: SessionDep,
    diff_from: Annotated[int | None, Query(alias="from", ge=1, le=1_000_000)] = None,
    diff_to: Annotated[int | None, Query(alias="to", ge=1, le=1_000_000)] = None,
) -> HTMLResponse:
    """Show a component with its usage and versions (a view is counted unless comparing versions)."""
    component = component_service.get_visible_or_raise(
        session, principal=principal, component_id=component_id
    )
    if diff_from is None and diff_to is None:
        usage.bump(session, asset=component, kind=usage.UsageKind.view)
    url = f"/catalog/components/{component.id}"
    context = {
        "item": component_service.read(session, component=component),
        "can_write": principal.has(Permission.catalog_write),
        **asset_pages.versions_context(
            session, asset=component, base_url=url, diff_from=diff_from, diff_to=diff_to
        ),
        **_labels(),
    }
    return render(request, "catalog/components_detail.html", context)


@router.get("/{component_id}/edit", response_class=HTMLResponse)
def component_edit(
    component_id: str, request: Request, principal: Writer, session: SessionDep
) -> HTMLResponse:
    """Show the edit form of a component."""
    component = component_service.get_visible_or_raise(
        session, principal=principal, component_id=component_id
    )
    values = {name: getattr(component, name) for name in FIELDS}
    values.update({"commit_sha": component.commit_sha or "", "source": component.source})
    return _form_page(request, session, principal, component=component, form=values)


@router.post("/{component_id}/edit")
def component_update(
    component_id: str, request: Request, principal: Writer, session: SessionDep, audit: AuditDep, form: Form
) -> Response:
    """Save changes to a component (a new version when something changed)."""
    component = component_service.get_visible_or_raise(
        session, principal=principal, component_id=component_id
    )
    submitted = _submitted(form)
    try:
        payload = _payload(submitted)
        payload.pop("system_id", None)
        data = ComponentUpdate.model_validate(payload)
        component_service.update(session, component=component, data=data, ctx=audit)
    except ValidationError as exc:
        errors = asset_pages.form_errors(exc)
    except AppError as exc:
        discard_changes(session, exc)
        errors = asset_pages.form_errors(exc)
    else:
        return redirect(request, f"/catalog/components/{component_id}", flash="component_saved")
    submitted["system_id"] = component.system_id
    return _form_page(
        request, session, principal, component=component, form=submitted, errors=errors, status=422
    )


@router.post("/{component_id}/reuse")
def component_reuse(
    component_id: str, request: Request, principal: Reader, session: SessionDep, audit: AuditDep
) -> Response:
    """Record that the user reused (copied) this component."""
    component = component_service.get_visible_or_raise(
        session, principal=principal, component_id=component_id
    )
    component_service.record_reuse(session, component=component, ctx=audit)
    return redirect(request, f"/catalog/components/{component_id}", flash="component_reused")


@router.post("/{component_id}/delete")
def component_delete(
    component_id: str, request: Request, principal: Writer, session: SessionDep, audit: AuditDep
) -> Response:
    """Delete a component."""
    component = component_service.get_visible_or_raise(
        session, principal=principal, component_id=component_id
    )
    asset_service.delete(session, asset=component, ctx=audit)
    return redirect(request, "/catalog/components", flash="component_deleted")
