"""Administration pages for user accounts: list, create, edit, roles, domains, password reset."""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import Response

from timbel.auth import service as user_service
from timbel.auth.deps import require_page
from timbel.auth.models import User
from timbel.auth.permissions import Permission, Role
from timbel.auth.principal import Principal
from timbel.auth.schemas import UserCreate, UserUpdate
from timbel.core.deps import AuditDep, SessionDep, SettingsDep
from timbel.core.errors import AppError
from timbel.core.settings import Settings
from timbel.web.forms import (
    FormErrors,
    discard_changes,
    from_app_error,
    from_validation_error,
    read_form,
    secret,
    text,
    values,
)
from timbel.web.i18n import N_
from timbel.web.redirects import redirect, register_flashes
from timbel.web.templating import render

router = APIRouter(prefix="/admin/users", tags=["web"], include_in_schema=False)
Admin = Annotated[Principal, Depends(require_page(Permission.admin_users))]
Form = Annotated[FormData, Depends(read_form)]
PAGE_SIZE = 25
ACTIVE_FILTERS = {"": None, "active": True, "inactive": False}

register_flashes(
    {
        "user_created": N_("The user was created."),
        "user_saved": N_("The user was saved."),
        "password_reset": N_("The password was reset. The user must change it at the next sign-in."),
    }
)


@router.get("", response_class=HTMLResponse)
def user_list(
    request: Request,
    _: Admin,
    session: SessionDep,
    q: Annotated[str, Query(max_length=100)] = "",
    status: Annotated[str, Query(max_length=10)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """List accounts with search and paging (the table alone for HTMX searches)."""
    active = ACTIVE_FILTERS.get(status)
    users, total = user_service.list_users(
        session, query=q or None, active=active, page=page, per_page=PAGE_SIZE
    )
    context = {
        "rows": [{"user": u, "domains": user_service.domains_of(session, user_id=u.id)} for u in users],
        "total": total,
        "page": page,
        "pages": max(1, math.ceil(total / PAGE_SIZE)),
        "filters": {"q": q, "status": status if status in ACTIVE_FILTERS else ""},
    }
    partial = request.headers.get("hx-target") == "user-table" and not request.headers.get(
        "hx-history-restore-request"
    )
    return render(request, "admin/_users_table.html" if partial else "admin/users.html", context)


def _form_page(
    request: Request,
    session: Session,
    settings: Settings,
    *,
    user: User | None,
    form: dict[str, Any],
    errors: FormErrors | None = None,
    reset_errors: FormErrors | None = None,
    status: int = 200,
) -> HTMLResponse:
    context = {
        "user": user,
        "form": form,
        "errors": errors or FormErrors(),
        "reset_errors": reset_errors or FormErrors(),
        "all_roles": [r.value for r in Role],
        "domains": user_service.list_domains(session),
        "password_min_length": settings.auth.password_min_length,
    }
    return render(request, "admin/user_form.html", context, status_code=status)


def _values_of(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "display_name": user.display_name,
        "email": user.email or "",
        "roles": sorted(g.role for g in user.role_grants),
        "preferred_locale": user.preferred_locale,
        "domain_ids": sorted(m.domain_id for m in user.memberships),
        "is_active": user.is_active,
        "must_change_password": user.must_change_password,
    }


def _submitted(form: FormData) -> dict[str, Any]:
    return {
        "username": text(form, "username", limit=100),
        "display_name": text(form, "display_name", limit=300),
        "email": text(form, "email", limit=300),
        "roles": values(form, "roles"),
        "preferred_locale": text(form, "preferred_locale", limit=8),
        "domain_ids": values(form, "domain_ids"),
        "is_active": text(form, "is_active") == "on",
        "must_change_password": text(form, "must_change_password") == "on",
    }


@router.get("/new", response_class=HTMLResponse)
def user_new(request: Request, _: Admin, session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    """Show the form for a new account."""
    defaults = {
        "username": "",
        "display_name": "",
        "email": "",
        "roles": [],
        "preferred_locale": "ko",
        "domain_ids": [],
        "is_active": True,
        "must_change_password": True,
    }
    return _form_page(request, session, settings, user=None, form=defaults)


@router.post("/new")
def user_create(
    request: Request, _: Admin, session: SessionDep, settings: SettingsDep, audit: AuditDep, form: Form
) -> Response:
    """Create an account with roles, domains and an initial password."""
    submitted = _submitted(form)
    try:
        data = UserCreate.model_validate(
            {**submitted, "email": submitted["email"] or None, "password": secret(form, "password")}
        )
        user = user_service.create(
            session, data=data, min_password_length=settings.auth.password_min_length, ctx=audit
        )
    except ValidationError as exc:
        errors = from_validation_error(exc)
    except AppError as exc:
        discard_changes(session, exc)
        errors = from_app_error(exc, min_password_length=settings.auth.password_min_length)
    else:
        return redirect(request, f"/admin/users/{user.id}", flash="user_created")
    return _form_page(request, session, settings, user=None, form=submitted, errors=errors, status=422)


@router.get("/{user_id}", response_class=HTMLResponse)
def user_edit(
    user_id: str, request: Request, _: Admin, session: SessionDep, settings: SettingsDep
) -> HTMLResponse:
    """Show an account's edit form."""
    user = user_service.get_or_raise(session, user_id=user_id)
    return _form_page(request, session, settings, user=user, form=_values_of(user))


@router.post("/{user_id}")
def user_update(
    user_id: str,
    request: Request,
    principal: Admin,
    session: SessionDep,
    settings: SettingsDep,
    audit: AuditDep,
    form: Form,
) -> Response:
    """Save an account's profile, active flag, roles and domain memberships."""
    user = user_service.get_or_raise(session, user_id=user_id)
    submitted = _submitted(form)
    try:
        data = UserUpdate.model_validate(
            {
                "display_name": submitted["display_name"] or None,
                "email": submitted["email"] or None,
                "is_active": submitted["is_active"],
                "roles": submitted["roles"],
                "preferred_locale": submitted["preferred_locale"],
            }
        )
        user_service.update(session, user=user, data=data, actor_id=principal.user_id, ctx=audit)
        user_service.set_domains(session, user=user, domain_ids=submitted["domain_ids"], ctx=audit)
    except ValidationError as exc:
        errors = from_validation_error(exc)
    except AppError as exc:
        discard_changes(session, exc)
        errors = from_app_error(exc)
    else:
        return redirect(request, f"/admin/users/{user_id}", flash="user_saved")
    user = user_service.get_or_raise(session, user_id=user_id)
    submitted["username"] = user.username
    return _form_page(request, session, settings, user=user, form=submitted, errors=errors, status=422)


@router.post("/{user_id}/password")
def user_reset_password(
    user_id: str,
    request: Request,
    _: Admin,
    session: SessionDep,
    settings: SettingsDep,
    audit: AuditDep,
    form: Form,
) -> Response:
    """Set a temporary password; the user must change it and their sessions end."""
    user = user_service.get_or_raise(session, user_id=user_id)
    new = secret(form, "new_password")
    errors = FormErrors()
    if not new:
        errors.add("new_password", N_("This field is required."))
    else:
        try:
            user_service.reset_password(
                session, user=user, new=new, min_length=settings.auth.password_min_length, ctx=audit
            )
        except AppError as exc:
            discard_changes(session, exc)
            errors = from_app_error(exc, min_password_length=settings.auth.password_min_length)
        else:
            return redirect(request, f"/admin/users/{user_id}", flash="password_reset")
    user = user_service.get_or_raise(session, user_id=user_id)
    return _form_page(
        request, session, settings, user=user, form=_values_of(user), reset_errors=errors, status=422
    )
