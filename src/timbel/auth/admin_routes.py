"""Administration API for user accounts, roles and domain memberships."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from timbel.auth import service as user_service
from timbel.auth.deps import require
from timbel.auth.permissions import Permission
from timbel.auth.principal import Principal
from timbel.auth.schemas import (
    DomainMembershipSet,
    PasswordReset,
    UserCreate,
    UserRead,
    UserUpdate,
    user_read,
)
from timbel.core.deps import AuditDep, SessionDep, SettingsDep
from timbel.core.pagination import Page, PageDep

router = APIRouter(prefix="/api/v1/users", tags=["users"])
AdminUser = Annotated[Principal, Depends(require(Permission.admin_users))]


@router.get("")
def list_users(
    _: AdminUser,
    session: SessionDep,
    paging: PageDep,
    q: Annotated[str | None, Query(max_length=100)] = None,
    active: bool | None = None,
) -> Page[UserRead]:
    """List accounts, filtered by text and active flag."""
    users, total = user_service.list_users(
        session, query=q, active=active, page=paging.page, per_page=paging.per_page
    )
    return Page[UserRead](
        items=[user_read(u, user_service.domains_of(session, user_id=u.id)) for u in users],
        total=total,
        page=paging.page,
        per_page=paging.per_page,
    )


@router.post("", status_code=status.HTTP_201_CREATED)
def create_user(
    body: UserCreate, _: AdminUser, session: SessionDep, settings: SettingsDep, audit: AuditDep
) -> UserRead:
    """Create an account with roles and domain memberships."""
    user = user_service.create(
        session, data=body, min_password_length=settings.auth.password_min_length, ctx=audit
    )
    return user_read(user, user_service.domains_of(session, user_id=user.id))


@router.get("/{user_id}")
def get_user(user_id: str, _: AdminUser, session: SessionDep) -> UserRead:
    """Read one account."""
    user = user_service.get_or_raise(session, user_id=user_id)
    return user_read(user, user_service.domains_of(session, user_id=user.id))


@router.patch("/{user_id}")
def update_user(
    user_id: str, body: UserUpdate, principal: AdminUser, session: SessionDep, audit: AuditDep
) -> UserRead:
    """Change an account: profile, active flag, roles."""
    user = user_service.get_or_raise(session, user_id=user_id)
    user_service.update(session, user=user, data=body, actor_id=principal.user_id, ctx=audit)
    return user_read(user, user_service.domains_of(session, user_id=user.id))


@router.put("/{user_id}/domains")
def set_user_domains(
    user_id: str, body: DomainMembershipSet, _: AdminUser, session: SessionDep, audit: AuditDep
) -> UserRead:
    """Replace an account's domain memberships."""
    user = user_service.get_or_raise(session, user_id=user_id)
    user_service.set_domains(session, user=user, domain_ids=body.domain_ids, ctx=audit)
    return user_read(user, user_service.domains_of(session, user_id=user.id))


@router.post("/{user_id}/password", status_code=status.HTTP_204_NO_CONTENT)
def reset_user_password(
    user_id: str,
    body: PasswordReset,
    _: AdminUser,
    session: SessionDep,
    settings: SettingsDep,
    audit: AuditDep,
) -> Response:
    """Set a temporary password; the user must change it at next sign-in and their sessions end."""
    user = user_service.get_or_raise(session, user_id=user_id)
    user_service.reset_password(
        session, user=user, new=body.new_password, min_length=settings.auth.password_min_length, ctx=audit
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
