"""Catalog API: customer domains (영업처)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from timbel.auth.deps import require
from timbel.auth.permissions import Permission
from timbel.auth.principal import Principal
from timbel.catalog import service as catalog_service
from timbel.catalog.schemas import DomainCreate, DomainMembers, DomainRead, DomainUpdate, Priority
from timbel.core.deps import AuditDep, SessionDep
from timbel.core.errors import Conflict, PermissionDenied
from timbel.core.pagination import Page, PageDep

router = APIRouter(prefix="/api/v1/domains", tags=["catalog"])
Reader = Annotated[Principal, Depends(require(Permission.catalog_read))]
Writer = Annotated[Principal, Depends(require(Permission.catalog_write))]
MembershipAdmin = Annotated[Principal, Depends(require(Permission.admin_users))]


@router.get("")
def list_domains(
    principal: Reader,
    session: SessionDep,
    paging: PageDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    industry: Annotated[str | None, Query(max_length=100)] = None,
    region: Annotated[str | None, Query(max_length=100)] = None,
    priority: Priority | None = None,
    sort: Annotated[str, Query(max_length=32)] = "name",
) -> Page[DomainRead]:
    """List the domains the caller may see (filters: q, industry, region, priority; sort: name, code, …)."""
    rows, total = catalog_service.list_domains(
        session,
        principal=principal,
        paging=paging,
        q=q,
        industry=industry,
        region=region,
        priority=priority.value if priority else None,
        sort=sort,
    )
    return Page[DomainRead](
        items=catalog_service.read_many(session, domains=rows),
        total=total,
        page=paging.page,
        per_page=paging.per_page,
    )


@router.post("", status_code=status.HTTP_201_CREATED)
def create_domain(body: DomainCreate, principal: Writer, session: SessionDep, audit: AuditDep) -> DomainRead:
    """Create a customer domain."""
    domain = catalog_service.create(session, principal=principal, data=body, ctx=audit)
    return catalog_service.read(session, domain=domain)


@router.get("/{domain_id}")
def get_domain(domain_id: str, principal: Reader, session: SessionDep) -> DomainRead:
    """Read one domain."""
    domain = catalog_service.get_visible_or_raise(session, principal=principal, domain_id=domain_id)
    return catalog_service.read(session, domain=domain)


@router.patch("/{domain_id}")
def update_domain(
    domain_id: str, body: DomainUpdate, principal: Writer, session: SessionDep, audit: AuditDep
) -> DomainRead:
    """Change a domain (its code is permanent)."""
    domain = catalog_service.get_visible_or_raise(session, principal=principal, domain_id=domain_id)
    catalog_service.update(session, domain=domain, data=body, ctx=audit)
    return catalog_service.read(session, domain=domain)


@router.delete("/{domain_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_domain(
    domain_id: str,
    principal: Writer,
    session: SessionDep,
    audit: AuditDep,
    cascade: Annotated[
        bool, Query(description="Also delete its projects and systems (administrators only).")
    ] = False,
) -> Response:
    """Delete a domain and its memberships; one that still has projects or systems needs a cascade."""
    domain = catalog_service.get_visible_or_raise(session, principal=principal, domain_id=domain_id)
    children = catalog_service.count_children(session, domain_id=domain.id)
    if any(children.values()) and not cascade:
        summary = ", ".join(f"{n} {kind}" for kind, n in children.items() if n)
        raise Conflict(
            f"The domain still has {summary}; an administrator can delete it with cascade=true.",
            errors=[{"loc": ["query", "cascade"], "type": "domain.has_children", "msg": summary}],
        )
    if any(children.values()) and not principal.has(Permission.admin_users):
        raise PermissionDenied("Only an administrator can delete a domain together with what it holds.")
    catalog_service.delete(session, domain=domain, ctx=audit, cascaded=children)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{domain_id}/members")
def get_domain_members(domain_id: str, principal: Reader, session: SessionDep) -> DomainMembers:
    """List the ids of the users who belong to a domain."""
    domain = catalog_service.get_visible_or_raise(session, principal=principal, domain_id=domain_id)
    return DomainMembers(user_ids=sorted(catalog_service.member_ids(session, domain_id=domain.id)))


@router.put("/{domain_id}/members")
def set_domain_members(
    domain_id: str, body: DomainMembers, principal: MembershipAdmin, session: SessionDep, audit: AuditDep
) -> DomainMembers:
    """Replace who belongs to a domain (an access change: administrators only)."""
    domain = catalog_service.get_visible_or_raise(session, principal=principal, domain_id=domain_id)
    return DomainMembers(
        user_ids=catalog_service.set_members(session, domain=domain, user_ids=body.user_ids, ctx=audit)
    )
