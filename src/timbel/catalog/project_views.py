"""Catalog pages: projects (프로젝트) with urgent handling and their work groups."""

from __future__ import annotations

import math
from datetime import datetime
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
from timbel.catalog import project_service
from timbel.catalog import service as catalog_service
from timbel.catalog.models import Project
from timbel.catalog.schemas import ProjectCreate, ProjectStatus, ProjectUpdate
from timbel.core.deps import AuditDep, SessionDep
from timbel.core.errors import AppError
from timbel.core.pagination import PageParams
from timbel.web.forms import (
    FormErrors,
    discard_changes,
    from_app_error,
    from_validation_error,
    read_form,
    text,
)
from timbel.web.i18n import N_
from timbel.web.redirects import redirect, register_flashes
from timbel.web.templating import render

router = APIRouter(prefix="/catalog/projects", tags=["web"], include_in_schema=False)
Reader = Annotated[Principal, Depends(require_page(Permission.catalog_read))]
Writer = Annotated[Principal, Depends(require_page(Permission.catalog_write))]
Form = Annotated[FormData, Depends(read_form)]
PAGE_SIZE = 25
STATUS_LABELS = {
    "draft": N_("Draft"),
    "active": N_("Active"),
    "on_hold": N_("On hold"),
    "completed": N_("Completed"),
    "cancelled": N_("Cancelled"),
}
FIELDS = (
    "domain_id",
    "name",
    "description",
    "status",
    "start_date",
    "due_date",
    "urgent_reason",
    "urgent_deadline",
    "requirement_summary",
)

register_flashes(
    {"project_created": N_("The project was created."), "project_saved": N_("The project was saved.")}
)


def _zone(request: Request) -> ZoneInfo:
    return ZoneInfo(request.app.state.settings.i18n.timezone)


@router.get("", response_class=HTMLResponse)
def project_list(
    request: Request,
    principal: Reader,
    session: SessionDep,
    q: Annotated[str, Query(max_length=200)] = "",
    status: Annotated[str, Query(max_length=16)] = "",
    urgent: Annotated[str, Query(max_length=3)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """List visible projects with search, status and urgency filters."""
    chosen = status if status in STATUS_LABELS else ""
    rows, total = project_service.list_projects(
        session,
        principal=principal,
        paging=PageParams(page=page, per_page=PAGE_SIZE),
        q=q or None,
        status=chosen or None,
        urgent=True if urgent == "yes" else None,
        sort="-created_at",
    )
    context = {
        "rows": project_service.read_many(session, projects=rows),
        "total": total,
        "page": page,
        "pages": max(1, math.ceil(total / PAGE_SIZE)),
        "filters": {"q": q, "status": chosen, "urgent": "yes" if urgent == "yes" else ""},
        "status_labels": STATUS_LABELS,
        "can_write": principal.has(Permission.catalog_write),
    }
    return render(request, "catalog/projects.html", context)


def _local_input(value: datetime | None, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%Y-%m-%dT%H:%M") if value else ""


def _values_of(project: Project, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "domain_id": project.domain_id,
        "name": project.name,
        "description": project.description,
        "status": project.status,
        "start_date": project.start_date.isoformat() if project.start_date else "",
        "due_date": project.due_date.isoformat() if project.due_date else "",
        "urgent": project.urgent,
        "urgent_reason": project.urgent_reason,
        "urgent_deadline": _local_input(project.urgent_deadline, zone),
        "requirement_summary": project.requirement_summary,
    }


def _submitted(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {name: text(form, name, limit=40_000) for name in FIELDS}
    values["urgent"] = text(form, "urgent") == "on"
    return values


def _payload(values: dict[str, Any], zone: ZoneInfo) -> dict[str, Any]:
    """Turn form strings into API fields: empty dates are none, the deadline is in the display zone."""
    payload: dict[str, Any] = dict(values)
    deadline = values.get("urgent_deadline")
    if deadline:
        try:
            payload["urgent_deadline"] = datetime.fromisoformat(deadline).replace(tzinfo=zone)
        except ValueError:
            payload["urgent_deadline"] = deadline  # let validation name the field
    for name in ("start_date", "due_date", "urgent_deadline"):
        if payload.get(name) == "":
            payload[name] = None
    return payload


def _form_page(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    project: Project | None,
    form: dict[str, Any],
    errors: FormErrors | None = None,
    status: int = 200,
) -> HTMLResponse:
    domains, _ = catalog_service.list_domains(session, principal=principal, paging=PageParams(per_page=200))
    context = {
        "project": project,
        "form": form,
        "errors": errors or FormErrors(),
        "domains": domains,
        "statuses": [s.value for s in ProjectStatus],
        "status_labels": STATUS_LABELS,
        "can_write": principal.has(Permission.catalog_write),
        "work_groups": project_service.list_work_groups(session, project=project) if project else [],
        "tz_name": request.app.state.settings.i18n.timezone,
    }
    return render(request, "catalog/project_form.html", context, status_code=status)


@router.get("/new", response_class=HTMLResponse)
def project_new(
    request: Request,
    principal: Writer,
    session: SessionDep,
    domain_id: Annotated[str, Query(max_length=36)] = "",
) -> HTMLResponse:
    """Show the form for a new project."""
    blank: dict[str, Any] = {name: "" for name in FIELDS}
    blank.update({"domain_id": domain_id, "status": "draft", "urgent": False})
    return _form_page(request, session, principal, project=None, form=blank)


@router.post("/new")
def project_create(
    request: Request, principal: Writer, session: SessionDep, audit: AuditDep, form: Form
) -> Response:
    """Create a project from the form."""
    submitted = _submitted(form)
    try:
        data = ProjectCreate.model_validate(_payload(submitted, _zone(request)))
        project = project_service.create(session, principal=principal, data=data, ctx=audit)
    except ValidationError as exc:
        errors = from_validation_error(exc)
    except AppError as exc:
        discard_changes(session, exc)
        errors = from_app_error(exc)
    else:
        return redirect(request, f"/catalog/projects/{project.id}", flash="project_created")
    return _form_page(request, session, principal, project=None, form=submitted, errors=errors, status=422)


@router.get("/{project_id}", response_class=HTMLResponse)
def project_detail(project_id: str, request: Request, principal: Reader, session: SessionDep) -> HTMLResponse:
    """Show a project with its work groups (editable for catalog writers)."""
    project = project_service.get_visible_or_raise(session, principal=principal, project_id=project_id)
    return _form_page(request, session, principal, project=project, form=_values_of(project, _zone(request)))


@router.post("/{project_id}")
def project_update(
    project_id: str, request: Request, principal: Writer, session: SessionDep, audit: AuditDep, form: Form
) -> Response:
    """Save changes to a project."""
    project = project_service.get_visible_or_raise(session, principal=principal, project_id=project_id)
    submitted = _submitted(form)
    try:
        payload = _payload(submitted, _zone(request))
        payload.pop("domain_id", None)
        data = ProjectUpdate.model_validate(payload)
        project_service.update(session, project=project, data=data, ctx=audit)
    except ValidationError as exc:
        errors = from_validation_error(exc)
    except AppError as exc:
        discard_changes(session, exc)
        errors = from_app_error(exc)
    else:
        return redirect(request, f"/catalog/projects/{project_id}", flash="project_saved")
    submitted["domain_id"] = project.domain_id
    return _form_page(request, session, principal, project=project, form=submitted, errors=errors, status=422)
