"""GitOps administration pages under ``/admin/gitops``: the repositories (add, edit; secrets write-only)
and the per-domain table of which repository holds dev, stg and prod (administrators only)."""

from __future__ import annotations

from typing import Annotated

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
from timbel.core.errors import AppError
from timbel.core.settings import Settings
from timbel.gitops import admin_service
from timbel.gitops.admin_service import RepositoryUpdate
from timbel.gitops.models import GitOpsRepository
from timbel.gitops.schemas import RepositoryWrite
from timbel.scaffold.plan import ENVIRONMENTS
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

router = APIRouter(prefix="/admin/gitops", tags=["web"], include_in_schema=False)
Admin = Annotated[Principal, Depends(require_page(Permission.admin_settings))]
Form = Annotated[FormData, Depends(read_form)]
AUTHS = ("none", "token", "ssh")
FIELDS = ("name", "url", "branch", "auth", "username")
SECRET_LIMIT = 20_000
ERROR_TYPES = {
    admin_service.URL_INVALID: N_(
        "Use an https, ssh or git URL without credentials in it; local paths and remote helpers are refused."
    ),
    admin_service.NAME_TAKEN: N_("A repository with that name already exists."),
    admin_service.DEFAULT_URL_FIXED: N_("The URL of the embedded default repository cannot be changed."),
}

register_flashes(
    {
        "gitops_repository_created": N_("The GitOps repository was added."),
        "gitops_repository_saved": N_("The GitOps repository was saved."),
        "gitops_targets_saved": N_("The environment mapping was saved."),
    }
)


def _errors_of(exc: AppError) -> FormErrors:
    errors = FormErrors()
    for item in exc.errors:
        message = ERROR_TYPES.get(str(item.get("type", "")))
        if message is not None:
            loc = [p for p in item.get("loc", ()) if p != "body"]
            errors.add(str(loc[0]) if loc else None, message)
    return errors or from_app_error(exc)


def _submitted(form: FormData) -> dict[str, str]:
    """The typed fields, never the secret (so a re-rendered form cannot show it)."""
    return {name: text(form, name, limit=1000) for name in FIELDS}


def _typed_secret(form: FormData, auth: str) -> str:
    """The secret typed for the chosen auth: the token field, or the ssh key text area."""
    value = form.get("ssh_key" if auth == "ssh" else "secret")
    return value[:SECRET_LIMIT] if isinstance(value, str) else ""


def _list_page(
    request: Request,
    session: Session,
    settings: Settings,
    *,
    form: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    status: int = 200,
) -> HTMLResponse:
    repositories = admin_service.list_repositories(session, settings=settings)
    mapping: dict[str, dict[str, str]] = {}
    for target in admin_service.list_targets(session):
        mapping.setdefault(target.domain_id, {})[target.env] = target.repository_id
    context = {
        "repositories": repositories,
        "default_name": next((r.name for r in repositories if admin_service.is_default(r)), ""),
        "is_default": admin_service.is_default,
        "domains": user_service.list_domains(session),
        "mapping": mapping,
        "envs": ENVIRONMENTS,
        "auths": AUTHS,
        "form": form or {"name": "", "url": "", "branch": "main", "auth": "token", "username": ""},
        "errors": errors or FormErrors(),
    }
    return render(request, "admin/gitops.html", context, status_code=status)


def _edit_page(
    request: Request,
    row: GitOpsRepository,
    *,
    form: dict[str, str],
    errors: FormErrors | None = None,
    status: int = 200,
) -> HTMLResponse:
    context = {
        "repository": row,
        "is_default": admin_service.is_default(row),
        "auths": AUTHS,
        "form": form,
        "errors": errors or FormErrors(),
    }
    return render(request, "admin/gitops_repository.html", context, status_code=status)


@router.get("", response_class=HTMLResponse)
def gitops_admin(request: Request, _: Admin, session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    """Show the GitOps repositories, the form to add one, and the per-domain environment mapping."""
    return _list_page(request, session, settings)


@router.post("/repositories")
def gitops_repository_create(
    request: Request, _: Admin, session: SessionDep, settings: SettingsDep, audit: AuditDep, form: Form
) -> Response:
    """Add a repository; a refused URL or name shows the form again without the secret."""
    submitted = _submitted(form)
    try:
        data = RepositoryWrite.model_validate(
            {**submitted, "secret": _typed_secret(form, submitted["auth"]) or None}
        )
        admin_service.create_repository(session, settings=settings, data=data, ctx=audit)
    except ValidationError as exc:
        errors = from_validation_error(exc)
    except AppError as exc:
        discard_changes(session, exc)
        errors = _errors_of(exc)
    else:
        return redirect(request, "/admin/gitops", flash="gitops_repository_created")
    return _list_page(request, session, settings, form=submitted, errors=errors, status=422)


@router.get("/repositories/{repository_id}", response_class=HTMLResponse)
def gitops_repository_edit(
    repository_id: str, request: Request, _: Admin, session: SessionDep
) -> HTMLResponse:
    """Show a repository's edit form (the secret is never shown, only whether one is stored)."""
    row = admin_service.get_repository(session, repository_id=repository_id)
    return _edit_page(request, row, form={name: str(getattr(row, name)) for name in FIELDS})


@router.post("/repositories/{repository_id}")
def gitops_repository_update(
    repository_id: str,
    request: Request,
    _: Admin,
    session: SessionDep,
    settings: SettingsDep,
    audit: AuditDep,
    form: Form,
) -> Response:
    """Save a repository; an empty secret keeps the stored one unless "remove" is ticked."""
    row = admin_service.get_repository(session, repository_id=repository_id)
    submitted = _submitted(form) | {"name": row.name}
    typed = _typed_secret(form, submitted["auth"])
    new_secret = typed or ("" if text(form, "clear_secret") == "on" else None)
    try:
        fields = {name: submitted[name] for name in FIELDS if name != "name"}
        if admin_service.is_default(row):
            fields["url"] = row.url
        data = RepositoryUpdate.model_validate({**fields, "secret": new_secret})
        admin_service.update_repository(session, settings=settings, row=row, data=data, ctx=audit)
    except ValidationError as exc:
        errors = from_validation_error(exc)
    except AppError as exc:
        discard_changes(session, exc)
        errors = _errors_of(exc)
    else:
        return redirect(request, f"/admin/gitops/repositories/{row.id}", flash="gitops_repository_saved")
    row = admin_service.get_repository(session, repository_id=repository_id)
    return _edit_page(request, row, form=submitted, errors=errors, status=422)


@router.post("/targets")
def gitops_targets_save(
    request: Request, _: Admin, session: SessionDep, settings: SettingsDep, audit: AuditDep, form: Form
) -> Response:
    """Save which repository holds dev, stg and prod of one domain ("" → the default repository)."""
    domain_id = text(form, "domain_id", limit=36)
    current = {t.env: t.repository_id for t in admin_service.list_targets(session, domain_id=domain_id)}
    try:
        for env in ENVIRONMENTS:
            chosen = text(form, env, limit=36) or None
            if chosen != current.get(env):
                admin_service.set_target(
                    session, domain_id=domain_id, env=env, repository_id=chosen, ctx=audit
                )
    except AppError as exc:
        discard_changes(session, exc)
        return _list_page(request, session, settings, errors=from_app_error(exc), status=422)
    return redirect(request, "/admin/gitops", flash="gitops_targets_saved")
