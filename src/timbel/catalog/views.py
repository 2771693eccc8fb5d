"""Catalog pages: customer domains (영업처) — list, create, edit."""

from __future__ import annotations

import math
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
from timbel.catalog import service as catalog_service
from timbel.catalog.models import Domain
from timbel.catalog.schemas import DomainCreate, DomainUpdate, Priority
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

router = APIRouter(prefix="/catalog/domains", tags=["web"], include_in_schema=False)
Reader = Annotated[Principal, Depends(require_page(Permission.catalog_read))]
Writer = Annotated[Principal, Depends(require_page(Permission.catalog_write))]
Form = Annotated[FormData, Depends(read_form)]
PAGE_SIZE = 25
PRIORITY_LABELS = {
    "low": N_("Low"),
    "medium": N_("Medium"),
    "high": N_("High"),
    "critical": N_("Critical"),
}
CONTACT_FIELDS = ("name", "role", "email", "phone")

register_flashes(
    {"domain_created": N_("The domain was created."), "domain_saved": N_("The domain was saved.")}
)


@router.get("", response_class=HTMLResponse)
def domain_list(
    request: Request,
    principal: Reader,
    session: SessionDep,
    q: Annotated[str, Query(max_length=200)] = "",
    priority: Annotated[str, Query(max_length=16)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """List the domains the user may see, with search and paging."""
    chosen = priority if priority in PRIORITY_LABELS else ""
    rows, total = catalog_service.list_domains(
        session,
        principal=principal,
        paging=PageParams(page=page, per_page=PAGE_SIZE),
        q=q or None,
        priority=chosen or None,
    )
    context = {
        "rows": [
            {"domain": d, "members": view.member_count}
            for d, view in zip(rows, catalog_service.read_many(session, domains=rows), strict=True)
        ],
        "total": total,
        "page": page,
        "pages": max(1, math.ceil(total / PAGE_SIZE)),
        "filters": {"q": q, "priority": chosen},
        "priority_labels": PRIORITY_LABELS,
        "can_write": principal.has(Permission.catalog_write),
    }
    return render(request, "catalog/domains.html", context)


def _contacts_text(contacts: list[dict[str, Any]]) -> str:
    return "\n".join(" | ".join(str(c.get(k) or "") for k in CONTACT_FIELDS).rstrip(" |") for c in contacts)


def _parse_contacts(raw: str) -> list[dict[str, str]]:
    """Read one contact per line: ``name | role | e-mail | phone`` (later parts optional)."""
    contacts = []
    for line in raw.splitlines():
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")] + [""] * len(CONTACT_FIELDS)
        contact = dict(zip(CONTACT_FIELDS, parts[: len(CONTACT_FIELDS)], strict=True))
        contacts.append({k: v for k, v in contact.items() if v or k == "name"})
    return contacts


def _submitted(form: FormData) -> dict[str, Any]:
    return {
        "code": text(form, "code", limit=100),
        "name": text(form, "name", limit=300),
        "industry": text(form, "industry", limit=200),
        "region": text(form, "region", limit=200),
        "priority": text(form, "priority", limit=16) or "medium",
        "description": text(form, "description", limit=40_000),
        "contacts": text(form, "contacts", limit=20_000),
    }


def _values_of(domain: Domain) -> dict[str, Any]:
    return {
        "code": domain.code,
        "name": domain.name,
        "industry": domain.industry,
        "region": domain.region,
        "priority": domain.priority,
        "description": domain.description,
        "contacts": _contacts_text(domain.contacts),
    }


def _form_page(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    domain: Domain | None,
    form: dict[str, Any],
    errors: FormErrors | None = None,
    status: int = 200,
) -> HTMLResponse:
    context = {
        "domain": domain,
        "form": form,
        "errors": errors or FormErrors(),
        "priorities": [p.value for p in Priority],
        "priority_labels": PRIORITY_LABELS,
        "can_write": principal.has(Permission.catalog_write),
        "member_count": catalog_service.count_members(session, domain_id=domain.id) if domain else 0,
    }
    return render(request, "catalog/domain_form.html", context, status_code=status)


@router.get("/new", response_class=HTMLResponse)
def domain_new(request: Request, principal: Writer, session: SessionDep) -> HTMLResponse:
    """Show the form for a new domain."""
    blank = {k: "" for k in ("code", "name", "industry", "region", "description", "contacts")}
    return _form_page(request, session, principal, domain=None, form={**blank, "priority": "medium"})


@router.post("/new")
def domain_create(
    request: Request, principal: Writer, session: SessionDep, audit: AuditDep, form: Form
) -> Response:
    """Create a domain from the form."""
    submitted = _submitted(form)
    try:
        data = DomainCreate.model_validate({**submitted, "contacts": _parse_contacts(submitted["contacts"])})
        domain = catalog_service.create(session, principal=principal, data=data, ctx=audit)
    except ValidationError as exc:
        errors = from_validation_error(exc)
    except AppError as exc:
        discard_changes(session, exc)
        errors = from_app_error(exc)
    else:
        return redirect(request, f"/catalog/domains/{domain.id}", flash="domain_created")
    return _form_page(request, session, principal, domain=None, form=submitted, errors=errors, status=422)


@router.get("/{domain_id}", response_class=HTMLResponse)
def domain_detail(domain_id: str, request: Request, principal: Reader, session: SessionDep) -> HTMLResponse:
    """Show a domain (editable for users who may change the catalog)."""
    domain = catalog_service.get_visible_or_raise(session, principal=principal, domain_id=domain_id)
    return _form_page(request, session, principal, domain=domain, form=_values_of(domain))


@router.post("/{domain_id}")
def domain_update(
    domain_id: str, request: Request, principal: Writer, session: SessionDep, audit: AuditDep, form: Form
) -> Response:
    """Save changes to a domain."""
    domain = catalog_service.get_visible_or_raise(session, principal=principal, domain_id=domain_id)
    submitted = _submitted(form)
    try:
        fields = {k: v for k, v in submitted.items() if k != "code"}
        data = DomainUpdate.model_validate({**fields, "contacts": _parse_contacts(submitted["contacts"])})
        catalog_service.update(session, domain=domain, data=data, ctx=audit)
    except ValidationError as exc:
        errors = from_validation_error(exc)
    except AppError as exc:
        discard_changes(session, exc)
        errors = from_app_error(exc)
    else:
        return redirect(request, f"/catalog/domains/{domain_id}", flash="domain_saved")
    submitted["code"] = domain.code
    return _form_page(request, session, principal, domain=domain, form=submitted, errors=errors, status=422)
