"""Code components (코드 컴포넌트): reusable parts of a system, versioned, with view and reuse counts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from timbel.audit import service as audit_service
from timbel.audit.service import AuditContext
from timbel.auth.principal import Principal
from timbel.catalog import asset_service, usage, versions
from timbel.catalog.asset_schemas import ComponentCreate, ComponentRead, ComponentUpdate, UsageRead
from timbel.catalog.models import Component
from timbel.core.errors import Conflict
from timbel.core.pagination import PageParams, fetch_page, sort_order, text_search

SORTS: dict[str, Any] = {
    "name": Component.name,
    "kind": Component.kind,
    "reuse_score": Component.reuse_score,
    "created_at": Component.created_at,
    "updated_at": Component.updated_at,
}


def _name_taken() -> Conflict:
    return Conflict(
        "This system already has a component with that name.",
        errors=[{"loc": ["body", "name"], "type": "component.name_taken", "msg": "taken"}],
    )


def get_visible_or_raise(session: Session, *, principal: Principal, component_id: str) -> Component:
    """Return a component the caller may see, or raise NotFound."""
    return asset_service.get_visible(
        session, Component, principal=principal, asset_id=component_id, label="component"
    )


def list_components(
    session: Session,
    *,
    principal: Principal,
    paging: PageParams,
    q: str | None = None,
    domain_id: str | None = None,
    system_id: str | None = None,
    kind: str | None = None,
    language: str | None = None,
    source: str | None = None,
    sort: str = "name",
) -> tuple[list[Component], int]:
    """Return one page of visible components, filtered and sorted (``-field`` for descending)."""
    order = sort_order(SORTS, sort)
    stmt = asset_service.scoped(select(Component), Component.domain_id, principal)
    if q:
        stmt = stmt.where(
            text_search(q, Component.name, Component.description, Component.path, Component.framework)
        )
    for column, value in (
        (Component.domain_id, domain_id),
        (Component.system_id, system_id),
        (Component.kind, kind),
        (Component.source, source),
    ):
        if value:
            stmt = stmt.where(column == value)
    if language:
        stmt = stmt.where(func.lower(Component.language) == language.strip().lower())
    return fetch_page(session, stmt, model=Component, order=order, paging=paging)


def _name_free(session: Session, *, system_id: str, name: str, exclude: str | None = None) -> bool:
    stmt = select(Component.id).where(Component.system_id == system_id, Component.name == name)
    if exclude:
        stmt = stmt.where(Component.id != exclude)
    return session.scalar(stmt) is None


def create(session: Session, *, principal: Principal, data: ComponentCreate, ctx: AuditContext) -> Component:
    """Create a component in a visible system and store it as version 1."""
    system = asset_service.visible_system(session, principal=principal, system_id=data.system_id)
    if not _name_free(session, system_id=system.id, name=data.name):
        raise _name_taken()
    component = Component(domain_id=system.domain_id, version=1, **data.model_dump(mode="json"))
    session.add(component)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise _name_taken() from exc
    versions.record(session, asset=component, author_id=ctx.actor_id)
    audit_service.record(
        session,
        ctx=ctx,
        action="component.create",
        target_type="component",
        target_id=component.id,
        summary=f"created component {component.name} in system {system.slug}",
        changes={"kind": component.kind, "source": component.source},
    )
    return component


def update(session: Session, *, component: Component, data: ComponentUpdate, ctx: AuditContext) -> Component:
    """Apply changes; a real change becomes a new version."""
    fields = data.model_dump(mode="json", exclude_unset=True)
    fields = {k: v for k, v in fields.items() if v is not None or k == "commit_sha"}
    if "name" in fields and not _name_free(
        session, system_id=component.system_id, name=fields["name"], exclude=component.id
    ):
        raise _name_taken()
    changes = asset_service.apply_changes(component, fields)
    if changes:
        asset_service.new_version(session, asset=component, author_id=ctx.actor_id)
        audit_service.record(
            session,
            ctx=ctx,
            action="component.update",
            target_type="component",
            target_id=component.id,
            summary=f"updated component {component.name}: {', '.join(sorted(changes))}",
            changes=changes,
        )
    return component


def record_reuse(session: Session, *, component: Component, ctx: AuditContext) -> UsageRead:
    """Count one reuse (copy) of a component and return its counters."""
    usage.bump(session, asset=component, kind=usage.UsageKind.reuse)
    audit_service.record(
        session,
        ctx=ctx,
        action="component.reuse",
        target_type="component",
        target_id=component.id,
        summary=f"reused component {component.name}",
    )
    return asset_service.usage_reads(session, [component]).get(component.id, UsageRead())


def read(session: Session, *, component: Component) -> ComponentRead:
    """Build the API view of a component."""
    return read_many(session, components=[component])[0]


def read_many(session: Session, *, components: Sequence[Component]) -> list[ComponentRead]:
    """Build the API views of a page of components with one query each for systems, domains, usage."""
    systems = asset_service.system_refs(session, (c.system_id for c in components))
    domains = asset_service.domain_refs(session, (c.domain_id for c in components))
    counts = asset_service.usage_reads(session, components)
    return [
        ComponentRead(
            id=c.id,
            domain=domains[c.domain_id],
            system=systems[c.system_id],
            name=c.name,
            kind=c.kind,
            language=c.language,
            framework=c.framework,
            path=c.path,
            description=c.description,
            reuse_score=c.reuse_score,
            commit_sha=c.commit_sha,
            source=c.source,
            version=c.version,
            usage=counts.get(c.id, UsageRead()),
            created_at=c.created_at,
            updated_at=c.updated_at,
        )
        for c in components
    ]
