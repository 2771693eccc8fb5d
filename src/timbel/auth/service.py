"""User accounts: create, read, update, roles, domain memberships, passwords."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from timbel.audit import service as audit_service
from timbel.audit.service import AuditContext
from timbel.auth.models import AuthSession, DomainMembership, User, UserRole
from timbel.auth.passwords import check_password_policy
from timbel.auth.permissions import Role
from timbel.auth.principal import mark_auth_changed
from timbel.auth.schemas import DomainRead, UserCreate, UserUpdate
from timbel.catalog.models import Domain
from timbel.core.db import utcnow
from timbel.core.errors import Conflict, NotFound, ValidationFailed
from timbel.core.pagination import text_search
from timbel.core.security import hash_password, verify_password


def get(session: Session, *, user_id: str) -> User | None:
    """Return a user by id."""
    return session.get(User, user_id)


def get_or_raise(session: Session, *, user_id: str) -> User:
    """Return a user by id or raise NotFound."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    return user


def get_by_username(session: Session, *, username: str) -> User | None:
    """Return a user by (case-insensitive) username."""
    return session.scalar(select(User).where(User.username == username.strip().lower()))


def count(session: Session) -> int:
    """Return how many accounts exist."""
    return session.scalar(select(func.count(User.id))) or 0


def list_users(
    session: Session, *, query: str | None, active: bool | None, page: int, per_page: int
) -> tuple[list[User], int]:
    """Return a page of users ordered by username, filtered by text and active flag."""
    stmt = select(User)
    if query:
        stmt = stmt.where(text_search(query, User.username, User.display_name, User.email))
    if active is not None:
        stmt = stmt.where(User.is_active == active)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(User.username).offset((page - 1) * per_page).limit(per_page)).all()
    return list(rows), total


def domains_of(session: Session, *, user_id: str) -> list[DomainRead]:
    """Return the domains a user belongs to."""
    rows = session.execute(
        select(Domain.id, Domain.code, Domain.name)
        .join(DomainMembership, DomainMembership.domain_id == Domain.id)
        .where(DomainMembership.user_id == user_id)
        .order_by(Domain.code)
    ).all()
    return [DomainRead(id=r.id, code=r.code, name=r.name) for r in rows]


def list_domains(session: Session) -> list[DomainRead]:
    """Return every domain (for membership forms)."""
    rows = session.execute(select(Domain.id, Domain.code, Domain.name).order_by(Domain.code)).all()
    return [DomainRead(id=r.id, code=r.code, name=r.name) for r in rows]


def create(session: Session, *, data: UserCreate, min_password_length: int, ctx: AuditContext) -> User:
    """Create an account after checking the password policy and uniqueness."""
    check_password_policy(data.password, username=data.username, min_length=min_password_length)
    if get_by_username(session, username=data.username) is not None:
        raise Conflict(
            "That username is already taken.",
            errors=[{"loc": ["body", "username"], "type": "username.taken", "msg": "taken"}],
        )
    email = str(data.email).lower() if data.email else None
    if email and session.scalar(select(User.id).where(User.email == email)):
        raise Conflict(
            "That e-mail address is already used by another account.",
            errors=[{"loc": ["body", "email"], "type": "email.taken", "msg": "taken"}],
        )
    now = utcnow()
    user = User(
        username=data.username,
        email=email,
        display_name=data.display_name.strip() or data.username,
        password_hash=hash_password(data.password),
        preferred_locale=data.preferred_locale,
        must_change_password=data.must_change_password,
        password_changed_at=now,
        role_grants=[UserRole(role=r.value) for r in sorted(set(data.roles))],
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(
            "That username or e-mail is already taken.",
            errors=[{"loc": ["body"], "type": "user.taken", "msg": "taken"}],
        ) from exc
    _set_domains(session, user=user, domain_ids=data.domain_ids)
    audit_service.record(
        session,
        ctx=ctx,
        action="user.create",
        target_type="user",
        target_id=user.id,
        summary=f"created user {user.username}",
        changes={
            "username": user.username,
            "roles": sorted(r.value for r in set(data.roles)),
            "domain_ids": sorted(data.domain_ids),
            "password": "set",
        },
    )
    return user


def update(
    session: Session, *, user: User, data: UserUpdate, actor_id: str | None, ctx: AuditContext
) -> User:
    """Apply an administrator's changes; refuse to remove the last active admin."""
    changes: dict[str, object] = {}
    fields = data.model_dump(exclude_unset=True)
    if "email" in fields:
        email = str(data.email).lower() if data.email else None
        if email != user.email:
            if email and session.scalar(select(User.id).where(User.email == email, User.id != user.id)):
                raise Conflict(
                    "That e-mail address is already used by another account.",
                    errors=[{"loc": ["body", "email"], "type": "email.taken", "msg": "taken"}],
                )
            changes["email"] = [user.email, email]
            user.email = email
    if data.display_name is not None and data.display_name != user.display_name:
        changes["display_name"] = [user.display_name, data.display_name]
        user.display_name = data.display_name
    if data.preferred_locale is not None and data.preferred_locale != user.preferred_locale:
        changes["preferred_locale"] = [user.preferred_locale, data.preferred_locale]
        user.preferred_locale = data.preferred_locale
    new_roles = sorted({r.value for r in data.roles}) if data.roles is not None else None
    old_roles = sorted(g.role for g in user.role_grants)
    if data.is_active is False or (new_roles is not None and Role.admin.value not in new_roles):
        _guard_last_admin(session, user=user)
    if data.is_active is not None and data.is_active != user.is_active:
        if not data.is_active and actor_id == user.id:
            raise ValidationFailed(
                "You cannot deactivate your own account.",
                errors=[{"loc": ["body", "is_active"], "type": "user.self_deactivate", "msg": "own account"}],
            )
        changes["is_active"] = [user.is_active, data.is_active]
        user.is_active = data.is_active
        if not data.is_active:
            revoke_all_sessions(session, user_id=user.id, reason="deactivated")
    if new_roles is not None and new_roles != old_roles:
        user.role_grants = [UserRole(role=r) for r in new_roles]
        changes["roles"] = [old_roles, new_roles]
    session.flush()
    if changes:
        action = "user.roles_change" if set(changes) == {"roles"} else "user.update"
        audit_service.record(
            session,
            ctx=ctx,
            action=action,
            target_type="user",
            target_id=user.id,
            summary=f"updated user {user.username}: {', '.join(sorted(changes))}",
            changes=changes,
        )
    return user


def _guard_last_admin(session: Session, *, user: User) -> None:
    if Role.admin.value not in {g.role for g in user.role_grants} or not user.is_active:
        return
    admins = session.scalar(
        select(func.count(User.id))
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == Role.admin.value, User.is_active.is_(True))
    )
    if (admins or 0) <= 1:
        raise Conflict(
            "This is the last active administrator; keep at least one.",
            errors=[{"loc": ["body"], "type": "user.last_admin", "msg": "last admin"}],
        )


def set_domains(session: Session, *, user: User, domain_ids: Sequence[str], ctx: AuditContext) -> User:
    """Replace a user's domain memberships, auditing the difference."""
    before = sorted(m.domain_id for m in user.memberships)
    _set_domains(session, user=user, domain_ids=domain_ids)
    after = sorted(m.domain_id for m in user.memberships)
    if before != after:
        audit_service.record(
            session,
            ctx=ctx,
            action="user.membership_change",
            target_type="user",
            target_id=user.id,
            summary=f"domain memberships of {user.username} changed",
            changes={"added": sorted(set(after) - set(before)), "removed": sorted(set(before) - set(after))},
        )
    return user


def _set_domains(session: Session, *, user: User, domain_ids: Iterable[str]) -> None:
    wanted = sorted(set(domain_ids))
    if wanted:
        found = set(session.scalars(select(Domain.id).where(Domain.id.in_(wanted))).all())
        missing = [d for d in wanted if d not in found]
        if missing:
            raise ValidationFailed(
                "Unknown domain.",
                errors=[
                    {"loc": ["body", "domain_ids"], "type": "unknown_domain", "msg": f"no domain {d}"}
                    for d in missing
                ],
            )
    current = {m.domain_id: m for m in user.memberships}
    user.memberships = [current.get(d) or DomainMembership(domain_id=d) for d in wanted]
    session.flush()


def change_own_password(
    session: Session, *, user: User, current: str, new: str, min_length: int, ctx: AuditContext
) -> None:
    """Change one's own password after verifying the current one; other sessions end."""
    if not verify_password(user.password_hash, current):
        raise ValidationFailed(
            "The current password is not correct.",
            errors=[{"loc": ["body", "current_password"], "type": "password.mismatch", "msg": "incorrect"}],
        )
    if current == new:
        raise ValidationFailed(
            "The new password must differ from the current one.",
            errors=[{"loc": ["body", "new_password"], "type": "password.unchanged", "msg": "unchanged"}],
        )
    check_password_policy(new, username=user.username, min_length=min_length, field="new_password")
    user.password_hash = hash_password(new)
    user.must_change_password = False
    user.password_changed_at = utcnow()
    session.flush()
    audit_service.record(
        session,
        ctx=ctx,
        action="user.password_change",
        target_type="user",
        target_id=user.id,
        summary=f"{user.username} changed their password",
    )


def reset_password(session: Session, *, user: User, new: str, min_length: int, ctx: AuditContext) -> None:
    """Set a new password chosen by an administrator; the user must change it and all sessions end."""
    check_password_policy(new, username=user.username, min_length=min_length, field="new_password")
    user.password_hash = hash_password(new)
    user.must_change_password = True
    user.password_changed_at = utcnow()
    revoke_all_sessions(session, user_id=user.id, reason="password_reset")
    session.flush()
    audit_service.record(
        session,
        ctx=ctx,
        action="user.password_reset",
        target_type="user",
        target_id=user.id,
        summary=f"password of {user.username} reset by an administrator",
    )


def revoke_all_sessions(
    session: Session, *, user_id: str, reason: str, keep_session_id: str | None = None
) -> int:
    """End every live session of a user (except one to keep); return how many."""
    now = utcnow()
    rows = session.scalars(
        select(AuthSession).where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
    ).all()
    count_ = 0
    for row in rows:
        if row.id == keep_session_id:
            continue
        row.revoked_at = now
        row.revoke_reason = reason
        count_ += 1
    mark_auth_changed(session)
    session.flush()
    return count_
