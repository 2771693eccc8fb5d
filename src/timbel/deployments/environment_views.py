"""The environments admin page ``/admin/environments?domain=``: a domain's environments in promotion order,
their target, approval gate, timing, automatic rollback and freeze windows; add, save, move, delete.

Reading needs ``deploy:read`` (and a visible domain); every change needs ``admin:settings``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import Response

from timbel.auth.deps import require_page
from timbel.auth.permissions import Permission
from timbel.auth.principal import Principal
from timbel.catalog.models import Domain
from timbel.catalog.service import sees_all
from timbel.core.deps import AuditDep, SessionDep
from timbel.core.errors import AppError, NotFound
from timbel.deployments import environment_service as envs
from timbel.deployments import service
from timbel.deployments.models import Environment, TargetKind
from timbel.web.forms import FormErrors, discard_changes, read_form, text, values
from timbel.web.i18n import N_
from timbel.web.redirects import redirect, register_flashes
from timbel.web.templating import render

router = APIRouter(prefix="/admin/environments", tags=["web"], include_in_schema=False)
Reader = Annotated[Principal, Depends(require_page(Permission.deploy_read))]
Admin = Annotated[Principal, Depends(require_page(Permission.admin_settings))]
Form = Annotated[FormData, Depends(read_form)]
NUMBERS = ("approval_ttl_hours", "healthy_minutes", "health_timeout_seconds", "verify_window_seconds")
TEXTS = ("name", "target_kind", "application_pattern", "namespace_pattern")
register_flashes(
    {
        "environment_created": N_("The environment was added."),
        "environment_saved": N_("The environment was saved."),
        "environment_deleted": N_("The environment was deleted."),
        "environment_moved": N_("The promotion order was changed."),
    }
)


def _domains(session: Session, principal: Principal) -> list[Domain]:
    query = select(Domain).order_by(Domain.code)
    if not sees_all(principal):
        query = query.where(Domain.id.in_(principal.domain_ids))
    return list(session.scalars(query))


def _instances(session: Session, domain_id: str, kind: str) -> list[Any]:
    from timbel.integrations.models import Integration

    return list(
        session.scalars(
            select(Integration).where(
                Integration.kind == kind,
                or_(Integration.domain_id.is_(None), Integration.domain_id == domain_id),
            ).order_by(Integration.name)
        )
    )  # fmt: skip


def _windows_text(windows: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{w['starts_at']} | {w['ends_at']} | {w.get('reason', '')}".rstrip(" |") for w in windows
    )


def _values_of(row: Environment) -> dict[str, Any]:
    data = envs.as_dict(row)
    data["freeze_text"] = _windows_text(row.freeze_windows or [])
    return data


def _page(
    request: Request, session: Session, principal: Principal, domain: Domain | None, *,
    failed: tuple[str, dict[str, Any], FormErrors] | None = None, status_code: int = 200,
) -> HTMLResponse:  # fmt: skip
    cards: list[dict[str, Any]] = []
    new_form: dict[str, Any] = {**envs.EnvironmentWrite().model_dump(mode="json"), "freeze_text": ""}
    new_errors = FormErrors()
    if domain is not None:
        for row in service.environments_for(session, domain_id=domain.id):
            shown, errors = _values_of(row), FormErrors()
            if failed is not None and failed[0] == row.id:
                shown, errors = {**shown, **failed[1]}, failed[2]
            cards.append({"id": row.id, "shown": shown, "errors": errors})
        if failed is not None and failed[0] == "new":
            new_form, new_errors = {**new_form, **failed[1]}, failed[2]
    context = {
        "domains": _domains(session, principal),
        "domain": domain,
        "cards": cards,
        "new_form": new_form,
        "new_errors": new_errors,
        "can_edit": principal.has(Permission.admin_settings),
        "target_kinds": [k.value for k in TargetKind],
        "roles": envs.APPROVER_ROLES,
        "argocd": _instances(session, domain.id, "argocd") if domain else [],
        "kubernetes": _instances(session, domain.id, "kubernetes") if domain else [],
    }
    return render(request, "admin/environments.html", context, status_code=status_code)


def _domain(session: Session, principal: Principal, domain_id: str | None) -> Domain | None:
    visible = _domains(session, principal)
    if not domain_id:
        return visible[0] if visible else None
    for domain in visible:
        if domain.id == domain_id:
            return domain
    raise NotFound("No such domain.")


@router.get("", response_class=HTMLResponse)
def environments_page(
    request: Request,
    principal: Reader,
    session: SessionDep,
    domain: Annotated[str | None, Query(max_length=36)] = None,
) -> HTMLResponse:
    """A domain's environments (the first visible domain when none is chosen)."""
    return _page(request, session, principal, _domain(session, principal, domain))


def _windows(raw: str) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    for line in raw.splitlines():
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|", 2)]
        if len(parts) < 2:
            raise ValueError("freeze")
        found.append(
            {"starts_at": parts[0], "ends_at": parts[1], "reason": parts[2] if len(parts) > 2 else ""}
        )
    return found


def _typed(form: FormData) -> dict[str, Any]:
    typed: dict[str, Any] = {name: text(form, name, limit=200) for name in TEXTS}
    typed |= {name: text(form, name, limit=10) for name in NUMBERS}
    typed |= {
        name: text(form, name, limit=36) or None
        for name in ("argocd_integration_id", "kubernetes_integration_id")
    }
    typed["requires_approval"] = bool(text(form, "requires_approval"))
    typed["auto_rollback"] = bool(text(form, "auto_rollback"))
    typed["approver_roles"] = values(form, "approver_roles")
    typed["freeze_text"] = text(form, "freeze_windows", limit=20_000)
    return typed


def _parse(typed: dict[str, Any]) -> envs.EnvironmentWrite:
    data = {k: v for k, v in typed.items() if k != "freeze_text"}
    try:
        data["freeze_windows"] = _windows(typed["freeze_text"])
    except ValueError:
        data["freeze_windows"] = [{"starts_at": "bad", "ends_at": "bad"}]
    return envs.EnvironmentWrite.model_validate(data)


def _errors(exc: ValidationError | AppError) -> FormErrors:
    errors = FormErrors()
    items = exc.errors() if isinstance(exc, ValidationError) else exc.errors
    for item in items:
        loc = [p for p in item.get("loc", ()) if isinstance(p, str) and p != "body"]
        message = str(item.get("msg", "")).removeprefix("Value error, ") or N_("Check this value.")
        errors.add(loc[0] if loc else None, message)
    if not errors and isinstance(exc, AppError):
        errors.add(None, exc.detail or N_("Nothing was saved."))
    return errors


def _back(request: Request, domain_id: str, flash: str) -> Response:
    return redirect(request, f"/admin/environments?domain={domain_id}", flash=flash)


@router.post("/new")
def environment_create(
    request: Request, principal: Admin, session: SessionDep, audit: AuditDep, form: Form
) -> Response:
    """Add an environment at the end of the domain's promotion order."""
    domain = _domain(session, principal, text(form, "domain", limit=36) or None)
    if domain is None:
        raise NotFound("No such domain.")
    typed = _typed(form)
    try:
        envs.create(session, domain_id=domain.id, data=_parse(typed), ctx=audit)
    except (ValidationError, AppError) as exc:
        if isinstance(exc, AppError):
            discard_changes(session, exc)
        return _page(
            request, session, principal, domain, failed=("new", typed, _errors(exc)), status_code=422
        )
    return _back(request, domain.id, "environment_created")


def _row(session: Session, principal: Principal, environment_id: str) -> tuple[Environment, Domain]:
    row = envs.get_or_raise(session, environment_id=environment_id)
    domain = _domain(session, principal, row.domain_id)
    assert domain is not None
    return row, domain


@router.post("/{environment_id}")
def environment_save(
    environment_id: str, request: Request, principal: Admin, session: SessionDep, audit: AuditDep, form: Form
) -> Response:
    """Save every field of one environment."""
    row, domain = _row(session, principal, environment_id)
    typed = _typed(form)
    try:
        envs.update(session, row=row, data=_parse(typed), ctx=audit)
    except (ValidationError, AppError) as exc:
        if isinstance(exc, AppError):
            discard_changes(session, exc)
        status_code = exc.status if isinstance(exc, AppError) else 422
        return _page(
            request, session, principal, domain, failed=(row.id, typed, _errors(exc)), status_code=status_code
        )
    return _back(request, domain.id, "environment_saved")


@router.post("/{environment_id}/move")
def environment_move(
    environment_id: str, request: Request, principal: Admin, session: SessionDep, audit: AuditDep, form: Form
) -> Response:
    """Move an environment one place earlier (``direction=up``) or later in the promotion order."""
    row, domain = _row(session, principal, environment_id)
    names = [e.name for e in service.environments_for(session, domain_id=domain.id)]
    index = names.index(row.name)
    other = index - 1 if text(form, "direction") == "up" else index + 1
    if 0 <= other < len(names):
        names[index], names[other] = names[other], names[index]
        envs.reorder(session, domain_id=domain.id, names=names, ctx=audit)
    return _back(request, domain.id, "environment_moved")


@router.post("/{environment_id}/delete")
def environment_delete(
    environment_id: str, request: Request, principal: Admin, session: SessionDep, audit: AuditDep
) -> Response:
    """Delete an environment without deployments (the page explains a refusal)."""
    row, domain = _row(session, principal, environment_id)
    try:
        envs.delete(session, row=row, ctx=audit)
    except AppError as exc:
        discard_changes(session, exc)
        failed: tuple[str, dict[str, Any], FormErrors] = (row.id, {}, _errors(exc))
        return _page(request, session, principal, domain, failed=failed, status_code=exc.status)
    return _back(request, domain.id, "environment_deleted")
