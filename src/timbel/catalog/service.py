"""Catalog service: customer domains (영업처), scoped to what the caller may see.

Callers without ``domains:all`` see only the domains they belong to; anything
else answers "not found", so the existence of other customers is not revealed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from timbel.audit import service as audit_service
from timbel.audit.service import AuditContext
from timbel.auth.models import DomainMembership, User
from timbel.auth.permissions import Permission
from timbel.auth.principal import Principal, mark_auth_changed
from timbel.catalog.models import Domain, Project, System
from timbel.catalog.schemas import DomainCreate, DomainRead, DomainUpdate, UserRef
from timbel.core.errors import Conflict, NotFound, ValidationFailed
from timbel.core.pagination import PageParams, fetch_page, sort_order, text_search

SORTS: dict[str, Any] = {
    "name": Domain.name,
    "code": Domain.code,
    "priority": Domain.priority,
    "created_at": Domain.created_at,
}


def sees_all(principal: Principal) -> bool:
    """Tell whether the caller may see every domain."""
    return principal.has(Permission.domains_all)


def _visible(stmt: Select[Any], principal: Principal) -> Select[Any]:
    if sees_all(principal):
        return stmt
    return stmt.where(Domain.id.in_(principal.domain_ids))


def get_visible_or_raise(session: Session, *, principal: Principal, domain_id: str) -> Domain:
    """Return a domain the caller may see, or raise NotFound."""
    domain = session.get(Domain, domain_id)
    if domain is None or not (sees_all(principal) or domain.id in principal.domain_ids):
        raise NotFound("No such domain.")
    return domain


def list_domains(
    session: Session,
    *,
    principal: Principal,
    paging: PageParams,
    q: str | None = None,
    industry: str | None = None,
    region: str | None = None,
    priority: str | None = None,
    sort: str = "name",
) -> tuple[list[Domain], int]:
    """Return one page of the visible domains, filtered and sorted (``-field`` for descending)."""
    order = sort_order(SORTS, sort)
    stmt = _visible(select(Domain), principal)
    if q:
        stmt = stmt.where(text_search(q, Domain.name, Domain.code, Domain.description))
    if industry:
        stmt = stmt.where(Domain.industry == industry)
    if region:
        stmt = stmt.where(Domain.region == region)
    if priority:
        stmt = stmt.where(Domain.priority == priority)
    return fetch_page(session, stmt, model=Domain, order=order, paging=paging)


def check_owner(session: Session, owner_id: str | None) -> None:
    """Refuse an owner id that names no user."""
    if owner_id is not None and session.get(User, owner_id) is None:
        raise ValidationFailed(
            "Unknown owner.",
            errors=[{"loc": ["body", "owner_id"], "type": "user.unknown", "msg": "no such user"}],
        )


def create(session: Session, *, principal: Principal, data: DomainCreate, ctx: AuditContext) -> Domain:
    """Create a domain; a creator who cannot see every domain becomes its member."""
    if session.scalar(select(Domain.id).where(Domain.code == data.code)):
        raise Conflict(
            "A domain with that code already exists.",
            errors=[{"loc": ["body", "code"], "type": "domain.code_taken", "msg": "taken"}],
        )
    check_owner(session, data.owner_id)
    domain = Domain(**data.model_dump(mode="json"))
    session.add(domain)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict("A domain with that code already exists.") from exc
    if not sees_all(principal):
        session.add(DomainMembership(user_id=principal.user_id, domain_id=domain.id))
        session.flush()
    audit_service.record(
        session,
        ctx=ctx,
        action="domain.create",
        target_type="domain",
        target_id=domain.id,
        summary=f"created domain {domain.code} ({domain.name})",
        changes=data.model_dump(mode="json", exclude={"contacts"}),
    )
    return domain


def update(session: Session, *, domain: Domain, data: DomainUpdate, ctx: AuditContext) -> Domain:
    """Apply changes to a domain and audit what changed."""
    fields = data.model_dump(mode="json", exclude_unset=True)
    if "owner_id" in fields:
        check_owner(session, fields["owner_id"])
    changes: dict[str, Any] = {}
    for name, value in fields.items():
        if value is None and name != "owner_id":
            continue
        if getattr(domain, name) != value:
            changes[name] = [getattr(domain, name), value] if name != "contacts" else "changed"
            setattr(domain, name, value)
    session.flush()
    if changes:
        audit_service.record(
            session,
            ctx=ctx,
            action="domain.update",
            target_type="domain",
            target_id=domain.id,
            summary=f"updated domain {domain.code}: {', '.join(sorted(changes))}",
            changes=changes,
        )
    return domain


def count_children(session: Session, *, domain_id: str) -> dict[str, int]:
    """Return how many projects and systems a domain holds."""
    return {
        "projects": session.scalar(select(func.count(Project.id)).where(Project.domain_id == domain_id)) or 0,
        "systems": session.scalar(select(func.count(System.id)).where(System.domain_id == domain_id)) or 0,
    }


def delete(
    session: Session, *, domain: Domain, ctx: AuditContext, cascaded: dict[str, int] | None = None
) -> None:
    """Delete a domain with its memberships (and everything in it, when the caller chose to cascade)."""
    member_count = count_members(session, domain_id=domain.id)
    code, domain_id = domain.code, domain.id
    session.delete(domain)
    session.flush()
    mark_auth_changed(session)
    audit_service.record(
        session,
        ctx=ctx,
        action="domain.delete",
        target_type="domain",
        target_id=domain_id,
        summary=f"deleted domain {code}",
        changes={"members_removed": member_count, "cascaded": cascaded or {}},
    )


def count_members(session: Session, *, domain_id: str) -> int:
    """Return how many users belong to a domain."""
    return (
        session.scalar(
            select(func.count()).select_from(DomainMembership).where(DomainMembership.domain_id == domain_id)
        )
        or 0
    )


def member_ids(session: Session, *, domain_id: str) -> list[str]:
    """Return the ids of a domain's members."""
    return list(
        session.scalars(select(DomainMembership.user_id).where(DomainMembership.domain_id == domain_id)).all()
    )


def set_members(session: Session, *, domain: Domain, user_ids: Sequence[str], ctx: AuditContext) -> list[str]:
    """Replace a domain's members, auditing who was added and removed."""
    wanted = set(user_ids)
    known = set(session.scalars(select(User.id).where(User.id.in_(wanted))).all()) if wanted else set()
    missing = sorted(wanted - known)
    if missing:
        raise ValidationFailed(
            "Unknown user.",
            errors=[
                {"loc": ["body", "user_ids"], "type": "user.unknown", "msg": f"no user {u}"} for u in missing
            ],
        )
    current = set(member_ids(session, domain_id=domain.id))
    for user_id in wanted - current:
        session.add(DomainMembership(user_id=user_id, domain_id=domain.id))
    for membership in session.scalars(
        select(DomainMembership).where(
            DomainMembership.domain_id == domain.id, DomainMembership.user_id.in_(current - wanted)
        )
    ):
        session.delete(membership)
    session.flush()
    mark_auth_changed(session)
    if wanted != current:
        audit_service.record(
            session,
            ctx=ctx,
            action="domain.members_change",
            target_type="domain",
            target_id=domain.id,
            summary=f"members of domain {domain.code} changed",
            changes={"added": sorted(wanted - current), "removed": sorted(current - wanted)},
        )
    return sorted(wanted)


def read(session: Session, *, domain: Domain) -> DomainRead:
    """Build the API view of a domain."""
    return read_many(session, domains=[domain])[0]


def read_many(session: Session, *, domains: Sequence[Domain]) -> list[DomainRead]:
    """Build the API views of a page of domains with one query each for members and owners."""
    ids = [d.id for d in domains]
    counts: dict[str, int] = dict(
        session.execute(
            select(DomainMembership.domain_id, func.count())
            .where(DomainMembership.domain_id.in_(ids))
            .group_by(DomainMembership.domain_id)
        ).all()
    )
    owners = user_refs(session, user_ids={d.owner_id for d in domains if d.owner_id})
    return [
        DomainRead(
            id=domain.id,
            code=domain.code,
            name=domain.name,
            industry=domain.industry,
            region=domain.region,
            priority=domain.priority,
            description=domain.description,
            contacts=domain.contacts,
            owner=owners.get(domain.owner_id) if domain.owner_id else None,
            member_count=counts.get(domain.id, 0),
            created_at=domain.created_at,
            updated_at=domain.updated_at,
        )
        for domain in domains
    ]


def user_refs(session: Session, *, user_ids: Iterable[str]) -> dict[str, UserRef]:
    """Return how other resources show some users, by id, in one query."""
    wanted = set(user_ids)
    if not wanted:
        return {}
    rows = session.execute(select(User.id, User.username, User.display_name).where(User.id.in_(wanted)))
    return {r.id: UserRef(id=r.id, username=r.username, display_name=r.display_name) for r in rows}


def user_ref(session: Session, *, user_id: str | None) -> UserRef | None:
    """Return how other resources show a user (None for no user)."""
    return user_refs(session, user_ids=[user_id]).get(user_id) if user_id else None
