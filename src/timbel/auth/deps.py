"""Authentication and permission dependencies for API and page routes.

API routes take ``Authorization: Bearer`` (access JWT or personal API token)
and never cookies, so CSRF cannot reach them. Page routes take the browser
session cookie and check a CSRF token on every unsafe method. Every route
declares one of: ``public`` (visible exception), ``require(...)`` or
``require_page(...)``; the RBAC matrix test enforces it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from timbel.audit.service import AuditContext
from timbel.auth import tokens as token_service
from timbel.auth.permissions import Permission
from timbel.auth.principal import AUTH_CHANGED, Principal, PrincipalCache
from timbel.core.db import session_scope, utcnow
from timbel.core.errors import AuthenticationRequired, PermissionDenied
from timbel.core.security import (
    API_TOKEN_PREFIX,
    AccessTokenVerifier,
    InvalidToken,
    constant_time_equals,
    hmac_hex,
    new_opaque_token,
    token_digest,
)
from timbel.core.settings import Settings

SESSION_COOKIE = "timbel_session"
CSRF_COOKIE = "timbel_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class LoginRequired(AuthenticationRequired):
    """A page needs a signed-in browser session."""

    code = "login-required"
    title = "Sign-in required"


class PasswordChangeRequired(PermissionDenied):
    """The user must set a new password before using Timbel."""

    code = "password-change-required"
    title = "Password change required"


class CsrfFailed(PermissionDenied):
    """An unsafe page request came without a valid CSRF token."""

    code = "csrf-failed"
    title = "CSRF check failed"


async def _load(request: Request, key: str, loader: Callable[..., Principal | None]) -> Principal | None:
    """Return the cached principal for a credential, or load it once for all concurrent callers."""
    cache: PrincipalCache = request.app.state.principal_cache
    cached = cache.get(key)
    if cached is not None:
        return cached
    inflight: dict[str, asyncio.Future[Principal | None]] = cache.inflight
    pending = inflight.get(key)
    if pending is not None:  # another request is loading the same credential right now
        return await asyncio.shield(pending)
    generation = cache.generation
    factory = request.app.state.session_factory

    def run() -> Principal | None:
        with session_scope(factory) as session:
            principal = loader(session)
            # Touching last-seen times is not an auth change worth clearing the cache for.
            session.info.pop(AUTH_CHANGED, None)
        return principal

    future: asyncio.Future[Principal | None] = asyncio.get_running_loop().create_future()
    inflight[key] = future
    try:
        principal = await run_in_threadpool(run)
    except Exception as exc:
        future.set_exception(exc)
        future.exception()  # mark retrieved: waiters re-raise it, nobody else must
        raise
    except BaseException:
        future.cancel()
        raise
    finally:
        inflight.pop(key, None)
    future.set_result(principal)
    if principal is not None:
        cache.put(key, principal, generation=generation)
    return principal


def _bind(request: Request, principal: Principal) -> Principal:
    request.state.principal = principal
    ctx: AuditContext | None = getattr(request.state, "audit", None)
    if ctx is not None:  # built before authentication ran; otherwise it reads the principal itself
        ctx.actor_id, ctx.actor_name = principal.user_id, principal.username
    return principal


async def bearer_principal(request: Request) -> Principal | None:
    """Resolve the Bearer credential of a request, or None when absent/invalid."""
    header = request.headers.get("authorization", "")
    scheme, _, credential = header.partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        return None
    credential = credential.strip()
    if credential.startswith(API_TOKEN_PREFIX):
        return await _load(
            request,
            "api:" + token_digest(credential),
            lambda s: token_service.principal_for_api_token(s, raw_token=credential),
        )
    verifier: AccessTokenVerifier = request.app.state.token_verifier
    try:
        claims = verifier.verify(credential)
    except InvalidToken:
        return None
    return await _load(
        request,
        "jwt:" + claims.token_id,
        lambda s: token_service.principal_for_access_token(
            s, user_id=claims.user_id, session_id=claims.session_id, expires_at=claims.expires_at
        ),
    )


async def api_principal(request: Request) -> Principal:
    """Authenticate an API request or answer 401."""
    principal = await bearer_principal(request)
    if principal is None:
        raise AuthenticationRequired("A valid bearer token is required.")
    if principal.expires_at is not None and principal.expires_at <= utcnow():
        raise AuthenticationRequired("The token has expired.")
    return _bind(request, principal)


async def cookie_principal(request: Request) -> Principal | None:
    """Resolve the browser session cookie of a request, or None."""
    secret = request.cookies.get(SESSION_COOKIE)
    if not secret:
        return None
    settings: Settings = request.app.state.settings
    return await _load(
        request,
        "web:" + token_digest(secret),
        lambda s: token_service.principal_for_web_session(s, settings=settings, secret=secret),
    )


def csrf_token_for(request: Request) -> str:
    """Return the CSRF token to embed in this request's pages (creating the nonce cookie if needed)."""
    nonce = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf_nonce", None)
    if not nonce:
        nonce = new_opaque_token()
        request.state.new_csrf_nonce = nonce
    settings: Settings = request.app.state.settings
    return hmac_hex(settings.secret(), "csrf:" + nonce)


async def csrf_protect(request: Request) -> None:
    """Reject unsafe page requests whose CSRF token does not match the browser's nonce cookie."""
    if request.method in SAFE_METHODS:
        return
    nonce = request.cookies.get(CSRF_COOKIE)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    settings: Settings = request.app.state.settings
    if not nonce or not sent or not constant_time_equals(sent, hmac_hex(settings.secret(), "csrf:" + nonce)):
        raise CsrfFailed("The form expired or did not come from Timbel. Reload the page and try again.")


async def public(request: Request) -> None:
    """Mark a route as deliberately reachable without authentication (async: no threadpool hop)."""
    request.state.public_route = True


PermissionCheck = Callable[..., Awaitable[Principal]]


def require(permission: Permission | None = None, *, allow_password_change: bool = False) -> PermissionCheck:
    """API dependency: authenticate by bearer token and require a permission (None = any user).

    A user who must change their password (one-time or reset password) may only use the routes
    that allow it: reading themselves, changing the password, signing out.
    """

    async def check(request: Request) -> Principal:
        principal = await api_principal(request)  # called directly: one dependency level less per request
        if principal.must_change_password and not allow_password_change:
            raise PasswordChangeRequired("Change your password first (POST /api/v1/users/me/password).")
        if permission is not None and not principal.has(permission):
            raise PermissionDenied(f"This needs the permission {permission.value}.")
        return principal

    check.permission = permission  # type: ignore[attr-defined]
    check.surface = "api"  # type: ignore[attr-defined]
    return check


def require_page(
    permission: Permission | None = None, *, allow_password_change: bool = False
) -> PermissionCheck:
    """Page dependency: authenticate by session cookie (CSRF-checked) and require a permission."""

    async def check(request: Request) -> Principal:
        await csrf_protect(request)
        principal = await cookie_principal(request)
        if principal is None:
            raise LoginRequired("Please sign in.")
        _bind(request, principal)
        if principal.must_change_password and not allow_password_change:
            raise PasswordChangeRequired("Set a new password first.")
        if permission is not None and not principal.has(permission):
            raise PermissionDenied(f"This needs the permission {permission.value}.")
        return principal

    check.permission = permission  # type: ignore[attr-defined]
    check.surface = "page"  # type: ignore[attr-defined]
    return check


CurrentUser = Annotated[Principal, Depends(require())]
# The routes a user who must change their password may still call.
PendingPasswordUser = Annotated[Principal, Depends(require(allow_password_change=True))]
PageUser = Annotated[Principal, Depends(require_page())]
