"""Auth API: sign in, refresh, sign out, the current user, personal API tokens."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response, status

from timbel.auth import service as user_service
from timbel.auth import tokens as token_service
from timbel.auth.deps import CurrentUser, PendingPasswordUser, public
from timbel.auth.models import AuthSession
from timbel.auth.schemas import (
    ApiTokenCreate,
    ApiTokenCreated,
    ApiTokenRead,
    LoginRequest,
    LogoutRequest,
    PasswordChange,
    ProfileUpdate,
    RefreshRequest,
    TokenPair,
    UserMe,
    UserUpdate,
)
from timbel.core.deps import AuditDep, SessionDep, SettingsDep
from timbel.core.errors import PermissionDenied

router = APIRouter(prefix="/api/v1", tags=["auth"])


@router.post("/auth/login", dependencies=[Depends(public)])
def login(body: LoginRequest, session: SessionDep, settings: SettingsDep, audit: AuditDep) -> TokenPair:
    """Sign in with username and password; returns an access and a refresh token."""
    issued = token_service.login_api(
        session, settings=settings, username=body.username, password=body.password, ctx=audit
    )
    return TokenPair(
        access_token=issued.access_token, refresh_token=issued.refresh_token, expires_in=issued.expires_in
    )


@router.post("/auth/refresh", dependencies=[Depends(public)])
def refresh(body: RefreshRequest, session: SessionDep, settings: SettingsDep, audit: AuditDep) -> TokenPair:
    """Exchange a refresh token for a new pair; the old refresh token stops working."""
    issued = token_service.refresh(session, settings=settings, raw_token=body.refresh_token, ctx=audit)
    return TokenPair(
        access_token=issued.access_token, refresh_token=issued.refresh_token, expires_in=issued.expires_in
    )


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(
    principal: PendingPasswordUser, session: SessionDep, audit: AuditDep, body: LogoutRequest | None = None
) -> Response:
    """End the caller's session (or the one a given refresh token belongs to, if it is the caller's)."""
    session_id = principal.session_id
    if body is not None and body.refresh_token:
        owned = token_service.session_of_refresh_token(session, raw_token=body.refresh_token)
        if owned is not None:
            session_id = owned
    if session_id is None:
        raise PermissionDenied("API tokens have no session to end; revoke the token instead.")
    target = session.get(AuthSession, session_id)
    if target is None or target.user_id != principal.user_id:
        raise PermissionDenied("That session is not yours.")
    token_service.end_session(session, session_id=session_id, reason="logout", ctx=audit)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/users/me", response_model=UserMe)
async def read_me(principal: PendingPasswordUser) -> Response:
    """Return the signed-in user with effective roles, permissions and domains."""
    return Response(principal.me_json, media_type="application/json")


@router.patch("/users/me")
def update_me(
    body: ProfileUpdate, principal: CurrentUser, session: SessionDep, audit: AuditDep
) -> dict[str, Any]:
    """Change one's own display name, e-mail or language."""
    user = user_service.get_or_raise(session, user_id=principal.user_id)
    user_service.update(
        session,
        user=user,
        data=UserUpdate(**body.model_dump(exclude_unset=True)),
        actor_id=principal.user_id,
        ctx=audit,
    )
    return {
        "id": user.id,
        "display_name": user.display_name,
        "email": user.email,
        "preferred_locale": user.preferred_locale,
    }


@router.post("/users/me/password", status_code=status.HTTP_204_NO_CONTENT)
def change_my_password(
    body: PasswordChange,
    principal: PendingPasswordUser,
    session: SessionDep,
    settings: SettingsDep,
    audit: AuditDep,
) -> Response:
    """Change one's own password; other sessions of the user end."""
    user = user_service.get_or_raise(session, user_id=principal.user_id)
    user_service.change_own_password(
        session,
        user=user,
        current=body.current_password,
        new=body.new_password,
        min_length=settings.auth.password_min_length,
        ctx=audit,
    )
    user_service.revoke_all_sessions(
        session, user_id=user.id, reason="password_change", keep_session_id=principal.session_id
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/users/me/tokens")
def list_my_tokens(principal: CurrentUser, session: SessionDep) -> list[ApiTokenRead]:
    """List one's personal API tokens (metadata only)."""
    return [
        ApiTokenRead.model_validate(t)
        for t in token_service.list_api_tokens(session, user_id=principal.user_id)
    ]


@router.post("/users/me/tokens", status_code=status.HTTP_201_CREATED)
def create_my_token(
    body: ApiTokenCreate, principal: CurrentUser, session: SessionDep, settings: SettingsDep, audit: AuditDep
) -> ApiTokenCreated:
    """Create a personal API token; the token text is returned only in this response."""
    if principal.credential == "api_token":
        raise PermissionDenied("API tokens cannot create other API tokens; sign in instead.")
    user = user_service.get_or_raise(session, user_id=principal.user_id)
    token, raw = token_service.create_api_token(
        session,
        settings=settings,
        user=user,
        name=body.name,
        role_ceiling=body.role_ceiling,
        expires_in_days=body.expires_in_days,
        ctx=audit,
    )
    return ApiTokenCreated(**ApiTokenRead.model_validate(token).model_dump(), token=raw)


@router.delete("/users/me/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_my_token(token_id: str, principal: CurrentUser, session: SessionDep, audit: AuditDep) -> Response:
    """Revoke one of one's personal API tokens."""
    token_service.revoke_api_token(session, user_id=principal.user_id, token_id=token_id, ctx=audit)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
