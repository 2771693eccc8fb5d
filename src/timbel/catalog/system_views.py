"""Catalog pages: systems (시스템) with their relations graph, and a project's similar-system panel."""

from __future__ import annotations

import math
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import Response

from timbel.auth.deps import require_page
from timbel.auth.permissions import Permission
from timbel.auth.principal import Principal
from timbel.catalog import project_service, relation_service, system_page, system_read, system_service
from timbel.catalog import system_forms as forms
from timbel.catalog.models import Project, System
from timbel.catalog.system_schemas import (
    RelationCreate,
    SimilarSystemCreate,
    Stage,
    SystemCreate,
    SystemUpdate,
)
from timbel.core.deps import AuditDep, SessionDep
from timbel.core.errors import AppError
from timbel.core.pagination import PageParams
from timbel.web.forms import FormErrors, discard_changes, read_form, text
from timbel.web.i18n import N_
from timbel.web.redirects import redirect, register_flashes
from timbel.web.templating import render

router = APIRouter(tags=["web"], include_in_schema=False)
Reader = Annotated[Principal, Depends(require_page(Permission.catalog_read))]
Writer = Annotated[Principal, Depends(require_page(Permission.catalog_write))]
Form = Annotated[FormData, Depends(read_form)]
PAGE_SIZE = 25
OPTIONS = 300
SORT_LABELS = {
    "name": N_("Name"),
    "-updated_at": N_("Recently changed"),
    "-created_at": N_("Recently registered"),
    "stage": N_("Stage"),
}
register_flashes(
    {
        "system_created": N_("The system was registered."),
        "system_saved": N_("The system was saved."),
        "relation_added": N_("The relation was added."),
        "relation_removed": N_("The relation was removed."),
    }
)


def _zone(request: Request) -> ZoneInfo:
    return ZoneInfo(request.app.state.settings.i18n.timezone)


@router.get("/catalog/systems", response_class=HTMLResponse)
def system_list(
    request: Request,
    principal: Reader,
    session: SessionDep,
    q: Annotated[str, Query(max_length=200)] = "",
    domain_id: Annotated[str, Query(max_length=36)] = "",
    stage: Annotated[str, Query(max_length=16)] = "",
    language: Annotated[str, Query(max_length=50)] = "",
    sort: Annotated[str, Query(max_length=16)] = "name",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """List visible systems with search, domain, stage and language filters."""
    filters = {
        "q": q,
        "domain_id": domain_id,
        "stage": stage if stage in forms.STAGE_LABELS else "",
        "language": language.strip(),
        "sort": sort if sort in SORT_LABELS else "name",
    }
    rows, total = system_service.list_systems(
        session,
        principal=principal,
        paging=PageParams(page=page, per_page=PAGE_SIZE),
        q=q or None,
        domain_id=domain_id or None,
        stage=filters["stage"] or None,
        language=filters["language"] or None,
        sort=filters["sort"],
    )
    context = {
        "rows": system_read.read_many(session, systems=rows),
        "total": total,
        "page": page,
        "pages": max(1, math.ceil(total / PAGE_SIZE)),
        "filters": filters,
        "domains": system_page.domains(session, principal),
        "stage_labels": forms.STAGE_LABELS,
        "stage_badges": forms.STAGE_BADGES,
        "sort_labels": SORT_LABELS,
        "can_write": principal.has(Permission.catalog_write),
    }
    return render(request, "catalog/systems.html", context)


def _form_page(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    system: System | None,
    form: dict[str, Any],
    errors: FormErrors | None = None,
    relation_form: dict[str, str] | None = None,
    relation_errors: FormErrors | None = None,
    status: int = 200,
) -> HTMLResponse:
    context: dict[str, Any] = {
        "system": system,
        "form": form,
        "errors": errors or FormErrors(),
        **system_page.form_options(session, principal, system),
        "stages": [s.value for s in Stage],
        "stage_labels": forms.STAGE_LABELS,
        "stage_badges": forms.STAGE_BADGES,
        "source_labels": forms.SOURCE_LABELS,
        "relation_labels": forms.RELATION_LABELS,
        "can_write": principal.has(Permission.catalog_write),
        "relation_form": relation_form or {"source": "", "kind": "depends_on", "target": "", "note": ""},
        "relation_errors": relation_errors or FormErrors(),
    }
    if system is not None:
        context.update(system_page.detail(request, session, principal, system))
    return render(request, "catalog/system_form.html", context, status_code=status)


@router.get("/catalog/systems/new", response_class=HTMLResponse)
def system_new(
    request: Request,
    principal: Writer,
    session: SessionDep,
    domain_id: Annotated[str, Query(max_length=36)] = "",
) -> HTMLResponse:
    """Show the form for registering a system."""
    return _form_page(request, session, principal, system=None, form=forms.blank(domain_id))


@router.post("/catalog/systems/new")
def system_create(
    request: Request, principal: Writer, session: SessionDep, audit: AuditDep, form: Form
) -> Response:
    """Register a system from the form."""
    submitted = forms.submitted(form)
    try:
        data = SystemCreate.model_validate(forms.payload(submitted, _zone(request)))
        system = system_service.create(session, principal=principal, data=data, ctx=audit)
    except ValidationError as exc:
        errors = forms.field_errors(exc)
    except AppError as exc:
        discard_changes(session, exc)
        errors = forms.field_errors(exc)
    else:
        return redirect(request, f"/catalog/systems/{system.id}", flash="system_created")
    return _form_page(request, session, principal, system=None, form=submitted, errors=errors, status=422)


def _current_values(request: Request, session: Session, system: System) -> dict[str, Any]:
    return forms.values_of(
        system,
        owner_ids=system_service.owner_ids_of(session, system_id=system.id),
        project_ids=system_service.project_ids_of(session, system_id=system.id),
        zone=_zone(request),
    )


@router.get("/catalog/systems/{system_id}", response_class=HTMLResponse)
def system_detail(system_id: str, request: Request, principal: Reader, session: SessionDep) -> HTMLResponse:
    """Show a system with its relations and graph (editable for catalog writers)."""
    system = system_service.get_visible_or_raise(session, principal=principal, system_id=system_id)
    return _form_page(
        request, session, principal, system=system, form=_current_values(request, session, system)
    )


@router.post("/catalog/systems/{system_id}")
def system_update(
    system_id: str, request: Request, principal: Writer, session: SessionDep, audit: AuditDep, form: Form
) -> Response:
    """Save changes to a system."""
    system = system_service.get_visible_or_raise(session, principal=principal, system_id=system_id)
    submitted = forms.submitted(form)
    try:
        fields = forms.payload(submitted, _zone(request))
        fields.pop("domain_id", None)
        data = SystemUpdate.model_validate(fields)
        system_service.update(session, principal=principal, system=system, data=data, ctx=audit)
    except ValidationError as exc:
        errors = forms.field_errors(exc)
    except AppError as exc:
        discard_changes(session, exc)
        errors = forms.field_errors(exc)
    else:
        return redirect(request, f"/catalog/systems/{system_id}", flash="system_saved")
    system = system_service.get_visible_or_raise(session, principal=principal, system_id=system_id)
    submitted["domain_id"] = system.domain_id
    return _form_page(request, session, principal, system=system, form=submitted, errors=errors, status=422)


def _end(value: str) -> dict[str, str]:
    kind, _, ident = value.partition(":")
    return {"type": kind, "id": ident}


@router.post("/catalog/systems/{system_id}/relations")
def relation_add(
    system_id: str, request: Request, principal: Writer, session: SessionDep, audit: AuditDep, form: Form
) -> Response:
    """Add a relation from this system (or one of its components) to a visible system or component."""
    system = system_service.get_visible_or_raise(session, principal=principal, system_id=system_id)
    submitted = {name: text(form, name, limit=2000) for name in ("source", "kind", "target", "note")}
    try:
        data = RelationCreate.model_validate(
            {
                "kind": submitted["kind"],
                "source": _end(submitted["source"] or f"system:{system.id}"),
                "target": _end(submitted["target"]),
                "note": submitted["note"],
            }
        )
        relation_service.create(session, principal=principal, data=data, ctx=audit)
    except ValidationError as exc:
        errors = forms.field_errors(exc)
    except AppError as exc:
        discard_changes(session, exc)
        errors = forms.field_errors(exc)
    else:
        return redirect(request, f"/catalog/systems/{system_id}#relations", flash="relation_added")
    system = system_service.get_visible_or_raise(session, principal=principal, system_id=system_id)
    return _form_page(
        request,
        session,
        principal,
        system=system,
        form=_current_values(request, session, system),
        relation_form=submitted,
        relation_errors=errors,
        status=422,
    )


@router.post("/catalog/systems/{system_id}/relations/{relation_id}/delete")
def relation_remove(
    system_id: str,
    relation_id: str,
    request: Request,
    principal: Writer,
    session: SessionDep,
    audit: AuditDep,
) -> Response:
    """Remove a relation shown on a system's page."""
    system_service.get_visible_or_raise(session, principal=principal, system_id=system_id)
    relation = relation_service.get_visible_or_raise(session, principal=principal, relation_id=relation_id)
    relation_service.delete(session, relation=relation, ctx=audit)
    return redirect(request, f"/catalog/systems/{system_id}#relations", flash="relation_removed")


# --- similar-system panel of a project page ----------------------------------------------------


def _panel(
    request: Request,
    session: Session,
    principal: Principal,
    project: Project,
    *,
    form: dict[str, str] | None = None,
    errors: FormErrors | None = None,
) -> HTMLResponse:
    refs = relation_service.list_similar(session, principal=principal, project=project)
    taken = {r.system_id for r in refs}
    systems, _ = system_service.list_systems(
        session, principal=principal, paging=PageParams(per_page=200), sort="name"
    )
    context = {
        "project": project,
        "refs": system_read.similar_reads(session, refs=refs),
        "choices": [s for s in systems if s.id not in taken],
        "form": form or {"system_id": "", "note": ""},
        "errors": errors or FormErrors(),
        "can_write": principal.has(Permission.catalog_write),
    }
    return render(request, "catalog/_project_similar.html", context)


@router.get("/catalog/projects/{project_id}/similar-panel", response_class=HTMLResponse)
def similar_panel(project_id: str, request: Request, principal: Reader, session: SessionDep) -> HTMLResponse:
    """Show a project's similar-system references (loaded into the project page by HTMX)."""
    project = project_service.get_visible_or_raise(session, principal=principal, project_id=project_id)
    return _panel(request, session, principal, project)


@router.post("/catalog/projects/{project_id}/similar-panel", response_class=HTMLResponse)
def similar_add(
    project_id: str, request: Request, principal: Writer, session: SessionDep, audit: AuditDep, form: Form
) -> HTMLResponse:
    """Refer the project to a similar system; problems are shown in the panel itself."""
    project = project_service.get_visible_or_raise(session, principal=principal, project_id=project_id)
    submitted = {"system_id": text(form, "system_id", limit=36), "note": text(form, "note", limit=2000)}
    try:
        data = SimilarSystemCreate.model_validate(submitted)
        relation_service.create_similar(session, principal=principal, project=project, data=data, ctx=audit)
    except ValidationError as exc:
        return _panel(request, session, principal, project, form=submitted, errors=forms.field_errors(exc))
    except AppError as exc:
        discard_changes(session, exc)
        project = project_service.get_visible_or_raise(session, principal=principal, project_id=project_id)
        return _panel(request, session, principal, project, form=submitted, errors=forms.field_errors(exc))
    return _panel(request, session, principal, project)


@router.post("/catalog/projects/{project_id}/similar-panel/{ref_id}/delete", response_class=HTMLResponse)
def similar_remove(
    project_id: str, ref_id: str, request: Request, principal: Writer, session: SessionDep, audit: AuditDep
) -> HTMLResponse:
    """Remove a similar-system reference and show the panel again."""
    project = project_service.get_visible_or_raise(session, principal=principal, project_id=project_id)
    ref = relation_service.get_similar_or_raise(session, principal=principal, project=project, ref_id=ref_id)
    relation_service.delete_similar(session, ref=ref, ctx=audit)
    return _panel(request, session, principal, project)
