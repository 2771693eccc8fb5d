"""Sign-in, sessions, refresh-token rotation, personal API tokens and credential lookup.

A session is one sign-in: an API session (a family of rotating refresh tokens)
or a browser session (an opaque cookie secret). Access JWTs carry the session
id, so ending the session ends its access tokens too. A refresh token used a
second time means it leaked: the whole session is revoked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from timbel.audit import service as audit_service
from timbel.audit.service import AuditContext
from timbel.auth import throttle
from timbel.auth.models import ApiToken, AuthSession, RefreshToken, User
from timbel.auth.permissions import ROLE_PERMISSIONS, Role, permissions_for
from timbel.auth.principal import Principal, load_user_principal, mark_auth_changed
from timbel.core.db import utcnow
from timbel.core.errors import AuthenticationFailed, Conflict, NotFound, TooManyRequests, ValidationFailed
from timbel.core.security import (
    API_TOKEN_PREFIX,
    hash_password,
    issue_access_token,
    new_opaque_token,
    password_needs_rehash,
    token_digest,
    verify_password,
)
from timbel.core.settings import Settings

GENERIC_LOGIN_FAILURE = "Invalid username or password."
WEB_SESSION_TOUCH_SECONDS = 60


@dataclass(frozen=True, slots=True)
class IssuedTokens:
    """Tokens handed to an API client after sign-in or refresh."""

    access_token: str
    refresh_token: str
    expires_in: int
    session_id: str
    user_id: str


def authenticate(
    session: Session, *, settings: Settings, username: str, password: str, ctx: AuditContext, now: datetime
) -> User:
    """Check credentials with throttling; every failure looks the same to the caller."""
    keys = throttle.ThrottleKeys.for_attempt(username=username, ip=ctx.ip)
    wait = throttle.retry_after(session, keys=keys, now=now)
    if wait > 0:
        audit_service.record(
            session,
            ctx=ctx,
            action="auth.login_throttled",
            outcome="denied",
            target_type="user",
            summary=f"sign-in throttled for {username[:64]!r}",
            changes={"retry_after": wait},
        )
        raise TooManyRequests(
            "Too many failed sign-in attempts. Try again later.", headers={"Retry-After": str(wait)}
        )
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active:
        throttle.record_failure(session, keys=keys, now=now, policy=settings.auth)
        audit_service.record(
            session,
            ctx=ctx,
            action="auth.login_failed",
            outcome="failure",
            target_type="user",
            target_id=user.id if user else None,
            summary=f"failed sign-in as {username[:64]!r}",
        )
        raise AuthenticationFailed(GENERIC_LOGIN_FAILURE)
    throttle.record_success(session, keys=keys)
    if password_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = now
    ctx.actor_id, ctx.actor_name = user.id, user.username
    return user


def login_api(
    session: Session, *, settings: Settings, username: str, password: str, ctx: AuditContext
) -> IssuedTokens:
    """Sign in an API client: a new session with an access and a refresh token."""
    now = utcnow()
    user = authenticate(session, settings=settings, username=username, password=password, ctx=ctx, now=now)
    auth_session = AuthSession(
        user_id=user.id,
        kind="api",
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(seconds=settings.auth.refresh_token_seconds),
        ip=ctx.ip,
        user_agent=(ctx.user_agent or "")[:400] or None,
    )
    session.add(auth_session)
    session.flush()
    issued = _issue(session, settings=settings, auth_session=auth_session, now=now)
    audit_service.record(
        session,
        ctx=ctx,
        action="auth.login",
        target_type="session",
        target_id=auth_session.id,
        summary=f"{user.username} signed in (api)",
    )
    return issued


def _issue(session: Session, *, settings: Settings, auth_session: AuthSession, now: datetime) -> IssuedTokens:
    raw_refresh = new_opaque_token("rt_")
    session.add(
        RefreshToken(
            session_id=auth_session.id,
            token_hash=token_digest(raw_refresh),
            created_at=now,
            expires_at=min(
                auth_session.expires_at, now + timedelta(seconds=settings.auth.refresh_token_seconds)
            ),
        )
    )
    session.flush()
    access, _ = issue_access_token(
        key=settings.secret(),
        issuer=settings.auth.jwt_issuer,
        audience=settings.auth.jwt_audience,
        user_id=auth_session.user_id,
        session_id=auth_session.id,
        ttl_seconds=settings.auth.access_token_seconds,
        now=now,
    )
    return IssuedTokens(
        access_token=access,
        refresh_token=raw_refresh,
        expires_in=settings.auth.access_token_seconds,
        session_id=auth_session.id,
        user_id=auth_session.user_id,
    )


def refresh(session: Session, *, settings: Settings, raw_token: str, ctx: AuditContext) -> IssuedTokens:
    """Rotate a refresh token; a reused (already rotated) token revokes its whole session."""
    now = utcnow()
    token = session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == token_digest(raw_token)).with_for_update()
    )
    if token is None:
        raise AuthenticationFailed("The refresh token is not valid.")
    auth_session = session.get(AuthSession, token.session_id, with_for_update=True)
    if auth_session is None or auth_session.revoked_at is not None:
        raise AuthenticationFailed("The session has ended; sign in again.")
    user = session.get(User, auth_session.user_id)
    ctx.actor_id, ctx.actor_name = auth_session.user_id, user.username if user else None
    if token.rotated_at is not None:
        auth_session.revoked_at = now
        auth_session.revoke_reason = "refresh_token_reuse"
        mark_auth_changed(session)
        audit_service.record(
            session,
            ctx=ctx,
            action="auth.refresh_reuse",
            outcome="denied",
            target_type="session",
            target_id=auth_session.id,
            summary="a rotated refresh token was used again; session revoked",
        )
        raise AuthenticationFailed("The refresh token was already used; the session has been revoked.")
    if token.expires_at <= now or auth_session.expires_at <= now or user is None or not user.is_active:
        raise AuthenticationFailed("The session has expired; sign in again.")
    token.rotated_at = now
    auth_session.last_seen_at = now
    return _issue(session, settings=settings, auth_session=auth_session, now=now)


def end_session(session: Session, *, session_id: str, reason: str, ctx: AuditContext) -> bool:
    """Revoke one session (logout); return whether it was live."""
    auth_session = session.get(AuthSession, session_id, with_for_update=True)
    if auth_session is None or auth_session.revoked_at is not None:
        return False
    auth_session.revoked_at = utcnow()
    auth_session.revoke_reason = reason
    mark_auth_changed(session)
    session.flush()
    audit_service.record(
        session,
        ctx=ctx,
        action="auth.logout",
        target_type="session",
        target_id=auth_session.id,
        summary=f"session ended ({auth_session.kind})",
    )
    return True


def session_of_refresh_token(session: Session, *, raw_token: str) -> str | None:
    """Return the session id a refresh token belongs to."""
    return session.scalar(
        select(RefreshToken.session_id).where(RefreshToken.token_hash == token_digest(raw_token))
    )


def login_web(
    session: Session, *, settings: Settings, username: str, password: str, ctx: AuditContext
) -> tuple[str, User]:
    """Sign in a browser: returns the cookie secret of a new browser session."""
    now = utcnow()
    user = authenticate(session, settings=settings, username=username, password=password, ctx=ctx, now=now)
    secret = new_opaque_token("ws_")
    auth_session = AuthSession(
        user_id=user.id,
        kind="web",
        secret_hash=token_digest(secret),
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(seconds=settings.auth.web_session_absolute_seconds),
        ip=ctx.ip,
        user_agent=(ctx.user_agent or "")[:400] or None,
    )
    session.add(auth_session)
    session.flush()
    audit_service.record(
        session,
        ctx=ctx,
        action="auth.login",
        target_type="session",
        target_id=auth_session.id,
        summary=f"{user.username} signed in (web)",
    )
    return secret, user


def principal_for_access_token(
    session: Session, *, user_id: str, session_id: str, expires_at: datetime
) -> Principal | None:
    """Load the principal behind a verified access JWT if its session is still live."""
    auth_session = session.get(AuthSession, session_id)
    now = utcnow()
    if (
        auth_session is None
        or auth_session.user_id != user_id
        or auth_session.revoked_at is not None
        or auth_session.expires_at <= now
    ):
        return None
    return load_user_principal(
        session, user_id=user_id, credential="access_token", session_id=session_id, expires_at=expires_at
    )


def principal_for_web_session(session: Session, *, settings: Settings, secret: str) -> Principal | None:
    """Load the principal behind a browser-session cookie, enforcing idle and absolute limits."""
    auth_session = session.scalar(select(AuthSession).where(AuthSession.secret_hash == token_digest(secret)))
    now = utcnow()
    if auth_session is None or auth_session.kind != "web" or auth_session.revoked_at is not None:
        return None
    idle = timedelta(seconds=settings.auth.web_session_idle_seconds)
    if auth_session.expires_at <= now or auth_session.last_seen_at + idle <= now:
        return None
    if (now - auth_session.last_seen_at).total_seconds() > WEB_SESSION_TOUCH_SECONDS:
        auth_session.last_seen_at = now
        session.flush()
    expires = min(auth_session.expires_at, now + idle)
    return load_user_principal(
        session,
        user_id=auth_session.user_id,
        credential="web_session",
        session_id=auth_session.id,
        expires_at=expires,
    )


def create_api_token(
    session: Session,
    *,
    settings: Settings,
    user: User,
    name: str,
    role_ceiling: Role,
    expires_in_days: int | None,
    ctx: AuditContext,
) -> tuple[ApiToken, str]:
    """Create a personal API token limited to a role ceiling the user's own roles cover."""
    own = permissions_for(frozenset(Role(g.role) for g in user.role_grants))
    if not ROLE_PERMISSIONS[role_ceiling] <= own:
        raise ValidationFailed(
            "The role ceiling exceeds your own permissions.",
            errors=[
                {
                    "loc": ["body", "role_ceiling"],
                    "type": "token.ceiling_too_high",
                    "msg": f"you do not hold every permission of {role_ceiling.value}",
                }
            ],
        )
    days = expires_in_days or settings.auth.api_token_default_days
    if days > settings.auth.api_token_max_days:
        raise ValidationFailed(
            f"API tokens expire after at most {settings.auth.api_token_max_days} days.",
            errors=[
                {
                    "loc": ["body", "expires_in_days"],
                    "type": "token.too_long_lived",
                    "msg": f"at most {settings.auth.api_token_max_days}",
                }
            ],
        )
    name = name.strip()
    if session.scalar(select(ApiToken.id).where(ApiToken.user_id == user.id, ApiToken.name == name)):
        raise Conflict(
            "You already have an API token with that name.",
            errors=[{"loc": ["body", "name"], "type": "token.name_taken", "msg": "taken"}],
        )
    raw = new_opaque_token(API_TOKEN_PREFIX)
    now = utcnow()
    token = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=token_digest(raw),
        prefix=raw[:10],
        role_ceiling=role_ceiling.value,
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    session.add(token)
    session.flush()
    audit_service.record(
        session,
        ctx=ctx,
        action="token.create",
        target_type="api_token",
        target_id=token.id,
        summary=f"API token {name!r} created (ceiling {role_ceiling.value}, {days} days)",
        changes={
            "name": name,
            "role_ceiling": role_ceiling.value,
            "expires_at": token.expires_at.isoformat(),
        },
    )
    return token, raw


def list_api_tokens(session: Session, *, user_id: str) -> list[ApiToken]:
    """Return a user's API tokens, newest first."""
    return list(
        session.scalars(
            select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.created_at.desc())
        ).all()
    )


def revoke_api_token(session: Session, *, user_id: str, token_id: str, ctx: AuditContext) -> ApiToken:
    """Revoke one of a user's API tokens."""
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user_id:
        raise NotFound("No such API token.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.flush()
        audit_service.record(
            session,
            ctx=ctx,
            action="token.revoke",
            target_type="api_token",
            target_id=token.id,
            summary=f"API token {token.name!r} revoked",
        )
    return token


def principal_for_api_token(session: Session, *, raw_token: str) -> Principal | None:
    """Load the principal behind a personal API token if it is live."""
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_digest(raw_token)))
    now = utcnow()
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        return None
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > WEB_SESSION_TOUCH_SECONDS:
        token.last_used_at = now
        session.flush()
    return load_user_principal(
        session, user_id=token.user_id, credential="api_token", api_token=token, expires_at=token.expires_at
    )
