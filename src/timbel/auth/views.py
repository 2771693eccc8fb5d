"""Pages for signing in and out, one's own profile, password and personal API tokens."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import Response

from timbel.audit.service import AuditContext
from timbel.auth import service as user_service
from timbel.auth import tokens as token_service
from timbel.auth.deps import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    cookie_principal,
    csrf_protect,
    public,
    require_page,
)
from timbel.auth.models import ApiToken, User
from timbel.auth.permissions import ROLE_PERMISSIONS, Role
from timbel.auth.principal import Principal
from timbel.auth.schemas import ApiTokenCreate, UserUpdate
from timbel.core.db import utcnow
from timbel.core.deps import AuditDep, SessionDep, SettingsDep
from timbel.core.errors import AppError, AuthenticationFailed, TooManyRequests
from timbel.core.security import new_opaque_token, token_digest
from timbel.core.settings import Settings
from timbel.web.errors import PASSWORD_PAGE
from timbel.web.forms import (
    FormErrors,
    discard_changes,
    from_app_error,
    from_validation_error,
    read_form,
    secret,
    text,
)
from timbel.web.i18n import LOCALE_COOKIE, LOCALE_COOKIE_SECONDS, N_
from timbel.web.redirects import delete_cookie, redirect, register_flashes, safe_next, set_cookie
from timbel.web.templating import render

router = APIRouter(tags=["web"], include_in_schema=False)
PageUser = Annotated[Principal, Depends(require_page())]
PasswordPageUser = Annotated[Principal, Depends(require_page(allow_password_change=True))]
Form = Annotated[FormData, Depends(read_form)]
NEW_TOKEN_COOKIE = "timbel_new_token"  # noqa: S105 - a cookie name
NEW_TOKEN_SECONDS = 120

LOGIN_FAILED = N_("The username or password is not correct.")
LOGIN_THROTTLED = N_("Too many failed sign-in attempts. Try again later.")
LOGIN_MISSING = N_("Enter your username and password.")
PASSWORDS_DIFFER = N_("The two new passwords do not match.")

register_flashes(
    {
        "signed_out": N_("You have signed out."),
        "profile_saved": N_("Your profile was saved."),
        "password_changed": N_("Your password was changed. Your other sessions were signed out."),
        "token_created": N_("The API token was created. Copy it now: it will not be shown again."),
        "token_revoked": N_("The API token was revoked."),
    }
)


# --- sign in / sign out ----------------------------------------------------------------------------


def _login_page(
    request: Request,
    *,
    username: str,
    next_url: str,
    error: str | None,
    status: int,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    context = {"username": username, "next": next_url, "error": error}
    return render(request, "login.html", context, status_code=status, headers=headers)


@router.get("/login", response_class=HTMLResponse, dependencies=[Depends(public)])
async def login_page(request: Request, next: str | None = None) -> Response:
    """Show the sign-in form (or go on if already signed in)."""
    target = safe_next(next)
    principal = await cookie_principal(request)
    if principal is not None:
        return redirect(request, PASSWORD_PAGE if principal.must_change_password else target)
    return _login_page(request, username="", next_url=target, error=None, status=200)


@router.post("/login", dependencies=[Depends(public), Depends(csrf_protect)])
def login_submit(
    request: Request, session: SessionDep, settings: SettingsDep, audit: AuditDep, form: Form
) -> Response:
    """Sign in with username and password; failures never say whether the account exists."""
    username = text(form, "username", limit=200)
    password = secret(form, "password")
    next_url = safe_next(text(form, "next", limit=2000))
    if not username or not password:
        return _login_page(request, username=username, next_url=next_url, error=LOGIN_MISSING, status=422)
    try:
        cookie_secret, user = token_service.login_web(
            session, settings=settings, username=username, password=password, ctx=audit
        )
    except TooManyRequests as exc:
        return _login_page(
            request,
            username=username,
            next_url=next_url,
            error=LOGIN_THROTTLED,
            status=429,
            headers=exc.headers,
        )
    except AuthenticationFailed:
        return _login_page(request, username=username, next_url=next_url, error=LOGIN_FAILED, status=401)
    _end_previous_session(request, session, settings, audit)
    response = redirect(request, PASSWORD_PAGE if user.must_change_password else next_url)
    set_cookie(
        request, response, SESSION_COOKIE, cookie_secret, max_age=settings.auth.web_session_absolute_seconds
    )
    set_cookie(request, response, LOCALE_COOKIE, user.preferred_locale, max_age=LOCALE_COOKIE_SECONDS)
    # A new session gets a new CSRF nonce, so a token planted before sign-in is useless after it.
    set_cookie(
        request, response, CSRF_COOKIE, new_opaque_token(), max_age=settings.auth.web_session_absolute_seconds
    )
    return response


def _end_previous_session(request: Request, session: Session, settings: Settings, ctx: AuditContext) -> None:
    """End the session this browser held before signing in again."""
    previous = request.cookies.get(SESSION_COOKIE)
    if not previous:
        return
    principal = token_service.principal_for_web_session(session, settings=settings, secret=previous)
    if principal is not None and principal.session_id is not None:
        token_service.end_session(session, session_id=principal.session_id, reason="replaced", ctx=ctx)


@router.post("/logout")
def logout(request: Request, principal: PasswordPageUser, session: SessionDep, audit: AuditDep) -> Response:
    """End the browser session and forget its cookies."""
    if principal.session_id is not None:
        token_service.end_session(session, session_id=principal.session_id, reason="logout", ctx=audit)
    response = redirect(request, "/login", flash="signed_out")
    delete_cookie(request, response, SESSION_COOKIE)
    delete_cookie(request, response, CSRF_COOKIE)
    return response


# --- profile ---------------------------------------------------------------------------------------


def _ceilings(principal: Principal) -> list[str]:
    """Roles whose permissions the user holds in full (possible API-token ceilings)."""
    return [r.value for r in Role if ROLE_PERMISSIONS[r] <= principal.permissions]


def _token_state(token: ApiToken) -> str:
    if token.revoked_at is not None:
        return "revoked"
    return "expired" if token.expires_at <= utcnow() else "active"


def _profile_page(
    request: Request,
    session: Session,
    settings: Settings,
    principal: Principal,
    *,
    profile: dict[str, Any] | None = None,
    profile_errors: FormErrors | None = None,
    token_form: dict[str, Any] | None = None,
    token_errors: FormErrors | None = None,
    new_token: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    user = user_service.get_or_raise(session, user_id=principal.user_id)
    tokens = token_service.list_api_tokens(session, user_id=principal.user_id)
    ceilings = _ceilings(principal)
    context = {
        "profile": profile or _profile_values(user),
        "profile_errors": profile_errors or FormErrors(),
        "token_form": token_form
        or {"name": "", "role_ceiling": ceilings[-1] if ceilings else "", "days": ""},
        "token_errors": token_errors or FormErrors(),
        "tokens": [{"token": t, "state": _token_state(t)} for t in tokens],
        "ceilings": ceilings,
        "new_token": new_token,
        "roles": sorted(r.value for r in principal.roles),
        "password_errors": FormErrors(),
        "password_min_length": settings.auth.password_min_length,
        "token_default_days": settings.auth.api_token_default_days,
        "token_max_days": settings.auth.api_token_max_days,
    }
    return render(request, "profile.html", context, status_code=status)


def _profile_values(user: User) -> dict[str, Any]:
    return {
        "display_name": user.display_name,
        "email": user.email or "",
        "preferred_locale": user.preferred_locale,
    }


@router.get("/profile", response_class=HTMLResponse)
def profile_page(
    request: Request, principal: PageUser, session: SessionDep, settings: SettingsDep
) -> HTMLResponse:
    """Show one's profile, password form and personal API tokens (a new token once)."""
    new_token = None
    raw = request.cookies.get(NEW_TOKEN_COOKIE)
    if raw:
        digest = token_digest(raw)
        for token in token_service.list_api_tokens(session, user_id=principal.user_id):
            if token.token_hash == digest:
                new_token = {"name": token.name, "value": raw}
    response = _profile_page(request, session, settings, principal, new_token=new_token)
    if raw:
        delete_cookie(request, response, NEW_TOKEN_COOKIE, path="/profile")
    return response


@router.post("/profile")
def profile_submit(
    request: Request,
    principal: PageUser,
    session: SessionDep,
    settings: SettingsDep,
    audit: AuditDep,
    form: Form,
) -> Response:
    """Save one's display name, e-mail and language."""
    values = {
        "display_name": text(form, "display_name", limit=300),
        "email": text(form, "email", limit=300),
        "preferred_locale": text(form, "preferred_locale", limit=8),
    }
    try:
        data = UserUpdate.model_validate(
            {**values, "display_name": values["display_name"] or None, "email": values["email"] or None}
        )
        user = user_service.get_or_raise(session, user_id=principal.user_id)
        user_service.update(session, user=user, data=data, actor_id=principal.user_id, ctx=audit)
    except ValidationError as exc:
        errors = from_validation_error(exc)
    except AppError as exc:
        discard_changes(session, exc)
        errors = from_app_error(exc)
    else:
        response = redirect(request, "/profile", flash="profile_saved")
        set_cookie(request, response, LOCALE_COOKIE, user.preferred_locale, max_age=LOCALE_COOKIE_SECONDS)
        return response
    return _profile_page(
        request, session, settings, principal, profile=values, profile_errors=errors, status=422
    )


# --- password --------------------------------------------------------------------------------------


def _password_page(
    request: Request, settings: Settings, principal: Principal, errors: FormErrors, status: int
) -> HTMLResponse:
    context = {
        "centered": principal.must_change_password,
        "password_errors": errors,
        "password_min_length": settings.auth.password_min_length,
    }
    return render(request, "password.html", context, status_code=status)


@router.get(PASSWORD_PAGE, response_class=HTMLResponse)
def password_page(request: Request, principal: PasswordPageUser, settings: SettingsDep) -> HTMLResponse:
    """Show the password change form (the only page open while a change is required)."""
    return _password_page(request, settings, principal, FormErrors(), 200)


@router.post(PASSWORD_PAGE)
def password_submit(
    request: Request,
    principal: PasswordPageUser,
    session: SessionDep,
    settings: SettingsDep,
    audit: AuditDep,
    form: Form,
) -> Response:
    """Change one's own password; every other session of the user ends."""
    current, new = secret(form, "current_password"), secret(form, "new_password")
    errors = FormErrors()
    for name, value in (("current_password", current), ("new_password", new)):
        if not value:
            errors.add(name, N_("This field is required."))
    if new and new != secret(form, "confirm_password"):
        errors.add("confirm_password", PASSWORDS_DIFFER)
    if not errors:
        user = user_service.get_or_raise(session, user_id=principal.user_id)
        try:
            user_service.change_own_password(
                session,
                user=user,
                current=current,
                new=new,
                min_length=settings.auth.password_min_length,
                ctx=audit,
            )
        except AppError as exc:
            discard_changes(session, exc)
            errors = from_app_error(exc, min_password_length=settings.auth.password_min_length)
        else:
            user_service.revoke_all_sessions(
                session, user_id=user.id, reason="password_change", keep_session_id=principal.session_id
            )
            return redirect(request, "/", flash="password_changed")
    return _password_page(request, settings, principal, errors, 422)


# --- personal API tokens ---------------------------------------------------------------------------


@router.post("/profile/tokens")
def token_create(
    request: Request,
    principal: PageUser,
    session: SessionDep,
    settings: SettingsDep,
    audit: AuditDep,
    form: Form,
) -> Response:
    """Create a personal API token and show it once on the profile page."""
    values = {
        "name": text(form, "name", limit=200),
        "role_ceiling": text(form, "role_ceiling", limit=32),
        "days": text(form, "expires_in_days", limit=10),
    }
    try:
        data = ApiTokenCreate.model_validate(
            {
                "name": values["name"],
                "role_ceiling": values["role_ceiling"],
                "expires_in_days": values["days"] or None,
            }
        )
        user = user_service.get_or_raise(session, user_id=principal.user_id)
        _, raw = token_service.create_api_token(
            session,
            settings=settings,
            user=user,
            name=data.name,
            role_ceiling=data.role_ceiling,
            expires_in_days=data.expires_in_days,
            ctx=audit,
        )
    except ValidationError as exc:
        errors = from_validation_error(exc)
    except AppError as exc:
        discard_changes(session, exc)
        errors = from_app_error(exc, max_token_days=settings.auth.api_token_max_days)
    else:
        response = redirect(request, "/profile", flash="token_created")
        set_cookie(request, response, NEW_TOKEN_COOKIE, raw, max_age=NEW_TOKEN_SECONDS, path="/profile")
        return response
    if "expires_in_days" in errors.fields:
        errors.fields["days"] = errors.fields.pop("expires_in_days")
    return _profile_page(
        request, session, settings, principal, token_form=values, token_errors=errors, status=422
    )


@router.post("/profile/tokens/{token_id}/revoke")
def token_revoke(
    token_id: str, request: Request, principal: PageUser, session: SessionDep, audit: AuditDep
) -> RedirectResponse:
    """Revoke one of one's personal API tokens."""
    token_service.revoke_api_token(session, user_id=principal.user_id, token_id=token_id, ctx=audit)
    return redirect(request, "/profile", flash="token_revoked")
