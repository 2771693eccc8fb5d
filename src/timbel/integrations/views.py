"""Integration instance pages under ``/admin/integrations`` (administrators only): the list grouped by kind
with health, add and edit forms generated from each adapter's config schema, delete, and "test connection".

Every change goes through ``timbel.integrations.service`` (the same functions as the API): the pages only
turn forms into ``IntegrationCreate``/``IntegrationUpdate`` and errors back into messages next to fields.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import Response

from timbel.auth import service as user_service
from timbel.auth.deps import require_page
from timbel.auth.permissions import Permission
from timbel.auth.principal import Principal
from timbel.core.deps import AuditDep, SessionDep, SettingsDep
from timbel.core.errors import AppError, NotFound
from timbel.integrations import forms, service
from timbel.integrations.base import ConnectionReport, IntegrationKind
from timbel.integrations.models import Integration
from timbel.integrations.registry_of_adapters import NoAdapter, registered_kinds
from timbel.integrations.schemas import IntegrationCreate, IntegrationUpdate
from timbel.web.forms import FormErrors, discard_changes, read_form, text
from timbel.web.i18n import N_
from timbel.web.redirects import redirect, register_flashes
from timbel.web.templating import render

router = APIRouter(prefix="/admin/integrations", tags=["web"], include_in_schema=False)
Admin = Annotated[Principal, Depends(require_page(Permission.admin_integrations))]
Form = Annotated[FormData, Depends(read_form)]
PAGE = "/admin/integrations"
NO_ADAPTER = N_("No adapter serves this kind yet, so it cannot be tested.")
KIND_LABELS = {
    "jenkins": N_("Jenkins"), "registry": N_("Container registry"), "nexus": N_("Nexus"),
    "argocd": N_("Argo CD"), "github": N_("GitHub"), "gitlab": N_("GitLab"), "kubernetes": N_("Kubernetes"),
    "prometheus": N_("Prometheus"), "alertmanager": N_("Alertmanager"), "notify": N_("Notifications"),
}  # fmt: skip
CHECK_LABELS = {
    "reachable": N_("Reachable"), "version": N_("Version"), "query": N_("Query"),
    "authentication": N_("Authentication"), "connection": N_("Connection"),
    "configuration": N_("Configuration"), "secrets": N_("Stored secrets"), "catalog": N_("Catalog access"),
    "api": N_("API"), "permissions": N_("Permissions"), "auth": N_("Authentication"),
    "v2 API": N_("Registry API (v2)"),
    "read jobs": N_("Read jobs"), "create items": N_("Create items"),
    "applications": N_("Application access"), "projects": N_("Project access"),
    "rate limit": N_("Rate limit"), "scopes": N_("Token scopes"), "writable": N_("Writable"),
    "repository": N_("Repository"), "search": N_("Search"), "health": N_("Health"),
    "delivery": N_("Message delivery"), "url": N_("Channel URL"), "scheme": N_("Channel type"),
}  # fmt: skip

register_flashes(
    {
        "integration_created": N_("The integration was added."),
        "integration_saved": N_("The integration was saved."),
        "integration_deleted": N_("The integration was deleted."),
    }
)


def _render(request: Request, template: str, context: dict[str, Any], *, status: int = 200) -> HTMLResponse:
    labels = {"kind_labels": KIND_LABELS, "check_labels": CHECK_LABELS}
    return render(request, f"integrations/{template}", {**labels, **context}, status_code=status)


def _kind(value: str) -> IntegrationKind:
    try:
        return IntegrationKind(value)
    except ValueError:
        raise NotFound("No such integration kind.") from None


def _has_schema(kind: IntegrationKind) -> bool:
    spec = registered_kinds().get(kind)
    return spec is not None and spec.config is not None


def _fields(kind: IntegrationKind) -> list[forms.FieldSpec]:
    spec = registered_kinds().get(kind)
    if spec is None:
        return forms.fields_of(None)
    return forms.fields_of(spec.config, secret_fields=spec.secret_fields or ())


def _context(session: Session, **extra: Any) -> dict[str, Any]:
    return {"domains": user_service.list_domains(session), **extra}


def _form_page(
    request: Request, session: Session, *, kind: IntegrationKind, page: forms.Page,
    row: Integration | None = None, status: int = 200,
) -> HTMLResponse:  # fmt: skip
    context = _context(session, kind=kind.value, page=page, row=row, has_schema=_has_schema(kind))
    return _render(request, "form.html", context, status=status)


@router.get("", response_class=HTMLResponse)
def integrations_list(request: Request, _: Admin, session: SessionDep) -> HTMLResponse:
    """Show every instance grouped by kind with its health, and the kinds an instance can be added for."""
    groups: dict[str, list[Integration]] = {}
    for row in service.list_instances(session):
        groups.setdefault(row.kind, []).append(row)
    domains = {d.id: d for d in user_service.list_domains(session)}
    kinds = sorted(k.value for k in registered_kinds())
    context = {"groups": groups, "domains": domains, "kinds": kinds}
    return _render(request, "list.html", context)


@router.get("/new", response_class=HTMLResponse)
def integration_new(request: Request, _: Admin, session: SessionDep, kind: str = "") -> Response:
    """Show the add form generated from the chosen kind's config schema."""
    if not kind:
        return redirect(request, PAGE)
    chosen = _kind(kind)
    if chosen not in registered_kinds():
        raise NoAdapter(f"no adapter for kind {chosen.value} yet")
    fields = _fields(chosen)
    return _form_page(request, session, kind=chosen, page=forms.Page(fields, forms.form_of(fields)))


@router.post("/new")
def integration_create(
    request: Request, _: Admin, session: SessionDep, settings: SettingsDep, audit: AuditDep, form: Form
) -> Response:
    """Add an instance; errors show next to their fields with the form kept (secrets never echoed)."""
    kind = _kind(text(form, "kind", limit=32))
    if kind not in registered_kinds():
        raise NoAdapter(f"no adapter for kind {kind.value} yet")
    fields = _fields(kind)
    values = forms.submitted(form, fields)
    options, errors = forms.options_from(values, fields)
    if not errors:
        try:
            data = IntegrationCreate.model_validate(
                {"kind": kind.value, "name": values["name"], "base_url": values["base_url"],
                 "options": options, "secrets": forms.typed_secrets(form, fields),
                 "domain_id": values["domain_id"] or None, "is_default": values["is_default"] == "on"}
            )  # fmt: skip
            row = service.create(session, settings=settings, data=data, ctx=audit)
        except ValidationError as exc:
            errors = forms.errors_of(exc, fields)
        except AppError as exc:
            discard_changes(session, exc)
            errors = forms.errors_of(exc, fields)
        else:
            return redirect(request, f"{PAGE}/{row.id}", flash="integration_created")
    page = forms.Page(fields, values, errors=errors)
    return _form_page(request, session, kind=kind, page=page, status=422)


@router.get("/{integration_id}", response_class=HTMLResponse)
def integration_edit(integration_id: str, request: Request, _: Admin, session: SessionDep) -> HTMLResponse:
    """Show an instance's edit form, health and actions (secrets only as "stored")."""
    row = service.get_or_raise(session, integration_id=integration_id)
    kind = IntegrationKind(row.kind)
    fields = _fields(kind)
    page = forms.Page(fields, forms.form_of(fields, row), stored=list(row.secret_fields or []))
    return _form_page(request, session, kind=kind, page=page, row=row)


def _update_data(form: FormData, row: Integration, fields: list[forms.FieldSpec]) -> tuple[
    dict[str, str], dict[str, Any] | None, FormErrors
]:  # fmt: skip
    """The submitted text, the update body (None with parse errors), and the parse errors."""
    values = forms.submitted(form, fields)
    options, errors = forms.options_from(values, fields, current=row.options or {})
    if errors:
        return values, None, errors
    secrets: dict[str, str | None] = {name: None for name in forms.cleared_secrets(form, fields)}
    secrets |= forms.typed_secrets(form, fields)
    body: dict[str, Any] = {
        "name": values["name"], "base_url": values["base_url"], "domain_id": values["domain_id"] or None,
    }  # fmt: skip
    if _has_schema(IntegrationKind(row.kind)):
        body["options"] = options  # the form shows every option, so it replaces the whole set
    if secrets:
        body["secrets"] = secrets
    wants_default = values["is_default"] == "on"
    if wants_default != row.is_default:
        body["is_default"] = wants_default
    return values, body, errors


@router.post("/{integration_id}")
def integration_update(
    integration_id: str,
    request: Request,
    _: Admin,
    session: SessionDep,
    settings: SettingsDep,
    audit: AuditDep,
    form: Form,
) -> Response:
    """Save an instance: an empty secret keeps the stored one, a ticked "clear" box removes it."""
    row = service.get_or_raise(session, integration_id=integration_id)
    kind = IntegrationKind(row.kind)
    fields = _fields(kind)
    values, body, errors = _update_data(form, row, fields)
    if body is not None:
        try:
            data = IntegrationUpdate.model_validate(body)
            service.update(session, settings=settings, row=row, data=data, ctx=audit)
        except ValidationError as exc:
            errors = forms.errors_of(exc, fields)
        except AppError as exc:
            discard_changes(session, exc)
            errors = forms.errors_of(exc, fields)
        else:
            return redirect(request, f"{PAGE}/{row.id}", flash="integration_saved")
    row = service.get_or_raise(session, integration_id=integration_id)
    page = forms.Page(fields, values, stored=list(row.secret_fields or []), errors=errors)
    return _form_page(request, session, kind=kind, page=page, row=row, status=422)


@router.post("/{integration_id}/test", response_class=HTMLResponse)
def integration_test(
    integration_id: str,
    request: Request,
    _: Admin,
    session: SessionDep,
    settings: SettingsDep,
    audit: AuditDep,
) -> HTMLResponse:
    """Test the connection now and show each check, the version and the overall result."""
    row = service.get_or_raise(session, integration_id=integration_id)
    report: ConnectionReport | None = None
    problem: str | None = None
    try:
        report = service.test(session, settings=settings, row=row, ctx=audit)
    except NoAdapter:
        problem = NO_ADAPTER
    context = {"row": row, "report": report, "problem": problem}
    return _render(request, "test.html", context, status=200 if report else 501)


@router.post("/{integration_id}/delete")
def integration_delete(
    integration_id: str, request: Request, _: Admin, session: SessionDep, audit: AuditDep
) -> Response:
    """Delete an instance (the page asks for confirmation first)."""
    service.delete(session, row=service.get_or_raise(session, integration_id=integration_id), ctx=audit)
    return redirect(request, PAGE, flash="integration_deleted")
