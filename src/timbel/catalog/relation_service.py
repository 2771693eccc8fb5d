"""Relations between systems and components, and projects' similar-system references (유사시스템 참조).

A relation may cross domains, so it is visible only when the caller can see BOTH ends; its
``domain_id`` (the source's domain) alone would leak the other side's existence.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from timbel.audit import service as audit_service
from timbel.audit.service import AuditContext
from timbel.auth.principal import Principal
from timbel.catalog import service as catalog_service
from timbel.catalog import system_service
from timbel.catalog.models import Component, Project, Relation, SimilarSystemRef, System
from timbel.catalog.system_schemas import (
    EndType,
    RelationCreate,
    RelationEnd,
    RelationKind,
    RelationUpdate,
    SimilarSystemCreate,
    SimilarSystemUpdate,
)
from timbel.core.errors import Conflict, NotFound, ValidationFailed
from timbel.core.pagination import PageParams

API_KINDS = {RelationKind.provides_api, RelationKind.consumes_api}


def visible_filter(principal: Principal) -> ColumnElement[bool] | None:
    """Return the condition that both ends of a relation are visible (None: the caller sees all)."""
    if catalog_service.sees_all(principal):
        return None
    systems = select(System.id).where(System.domain_id.in_(principal.domain_ids))
    components = select(Component.id).where(Component.domain_id.in_(principal.domain_ids))
    return and_(
        or_(Relation.source_system_id.in_(systems), Relation.source_component_id.in_(components)),
        or_(Relation.target_system_id.in_(systems), Relation.target_component_id.in_(components)),
    )


def end_of(relation: Relation, side: str) -> tuple[EndType, str]:
    """Return the type and id of a relation's ``source`` or ``target``."""
    system_id = getattr(relation, f"{side}_system_id")
    if system_id:
        return EndType.system, system_id
    return EndType.component, getattr(relation, f"{side}_component_id")


def relation_key(kind: str, source: RelationEnd, target: RelationEnd) -> str:
    """Return the unique key of an edge."""
    return f"{source.type.value}:{source.id}>{kind}>{target.type.value}:{target.id}"


def list_relations(
    session: Session,
    *,
    principal: Principal,
    paging: PageParams,
    system_id: str | None = None,
    component_id: str | None = None,
    kind: str | None = None,
) -> tuple[list[Relation], int]:
    """Return one page of relations whose both ends are visible, newest first."""
    stmt = select(Relation)
    limit = visible_filter(principal)
    if limit is not None:
        stmt = stmt.where(limit)
    if system_id:
        stmt = stmt.where(or_(Relation.source_system_id == system_id, Relation.target_system_id == system_id))
    if component_id:
        stmt = stmt.where(
            or_(Relation.source_component_id == component_id, Relation.target_component_id == component_id)
        )
    if kind:
        stmt = stmt.where(Relation.kind == kind)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.order_by(Relation.created_at.desc(), Relation.id).offset(paging.offset).limit(paging.per_page)
    ).all()
    return list(rows), total


def list_around(
    session: Session, *, principal: Principal, system: System, limit: int = 200
) -> list[Relation]:
    """Return the visible relations touching a system or one of its components, oldest first."""
    parts = select(Component.id).where(Component.system_id == system.id)
    stmt = select(Relation).where(
        or_(
            Relation.source_system_id == system.id,
            Relation.target_system_id == system.id,
            Relation.source_component_id.in_(parts),
            Relation.target_component_id.in_(parts),
        )
    )
    visible = visible_filter(principal)
    if visible is not None:
        stmt = stmt.where(visible)
    return list(session.scalars(stmt.order_by(Relation.created_at, Relation.id).limit(limit)).all())


def get_visible_or_raise(session: Session, *, principal: Principal, relation_id: str) -> Relation:
    """Return a relation whose both ends the caller may see, or raise NotFound."""
    stmt = select(Relation).where(Relation.id == relation_id)
    limit = visible_filter(principal)
    relation = session.scalar(stmt if limit is None else stmt.where(limit))
    if relation is None:
        raise NotFound("No such relation.")
    return relation


def _resolve(session: Session, *, principal: Principal, end: RelationEnd, side: str) -> System | Component:
    """Return the visible system or component an end names, or raise NotFound naming the side."""
    entity: System | Component | None = (
        session.get(System, end.id) if end.type is EndType.system else session.get(Component, end.id)
    )
    if entity is None or not (
        catalog_service.sees_all(principal) or entity.domain_id in principal.domain_ids
    ):
        raise NotFound(
            f"No such {end.type.value}.",
            errors=[{"loc": ["body", side, "id"], "type": "relation.end_not_found", "msg": end.id}],
        )
    return entity


def create(session: Session, *, principal: Principal, data: RelationCreate, ctx: AuditContext) -> Relation:
    """Add an edge between two visible ends (APIs are components of kind ``api``)."""
    source = _resolve(session, principal=principal, end=data.source, side="source")
    target = _resolve(session, principal=principal, end=data.target, side="target")
    if data.source.type == data.target.type and data.source.id == data.target.id:
        raise ValidationFailed(
            "A relation needs two different ends.",
            errors=[{"loc": ["body", "target"], "type": "relation.self", "msg": "same as source"}],
        )
    if data.kind in API_KINDS and not (isinstance(target, Component) and target.kind == "api"):
        raise ValidationFailed(
            "The target of provides_api/consumes_api must be a component of kind api.",
            errors=[{"loc": ["body", "target"], "type": "relation.target_not_api", "msg": "not an api"}],
        )
    key = relation_key(data.kind.value, data.source, data.target)
    if session.scalar(select(Relation.id).where(Relation.key == key)):
        raise Conflict(
            "That relation already exists.",
            errors=[{"loc": ["body"], "type": "relation.exists", "msg": key}],
        )
    ends: dict[str, Any] = {
        f"source_{data.source.type.value}_id": source.id,
        f"target_{data.target.type.value}_id": target.id,
    }
    relation = Relation(
        domain_id=source.domain_id,
        key=key,
        kind=data.kind.value,
        note=data.note,
        created_by=ctx.actor_id,
        **ends,
    )
    session.add(relation)
    session.flush()
    audit_service.record(
        session,
        ctx=ctx,
        action="relation.create",
        target_type="relation",
        target_id=relation.id,
        summary=f"{source.name} {data.kind.value} {target.name}",
        changes={"key": key},
    )
    return relation


def update(session: Session, *, relation: Relation, data: RelationUpdate, ctx: AuditContext) -> Relation:
    """Change a relation's note."""
    if relation.note != data.note:
        relation.note = data.note
        session.flush()
        audit_service.record(
            session,
            ctx=ctx,
            action="relation.update",
            target_type="relation",
            target_id=relation.id,
            summary=f"updated the note of relation {relation.key}",
        )
    return relation


def delete(session: Session, *, relation: Relation, ctx: AuditContext) -> None:
    """Remove a relation."""
    key, relation_id = relation.key, relation.id
    session.delete(relation)
    session.flush()
    audit_service.record(
        session,
        ctx=ctx,
        action="relation.delete",
        target_type="relation",
        target_id=relation_id,
        summary=f"deleted relation {key}",
    )


# --- similar-system references -----------------------------------------------------------------


def list_similar(session: Session, *, principal: Principal, project: Project) -> list[SimilarSystemRef]:
    """Return a project's references to systems the caller may see, oldest first."""
    stmt = (
        select(SimilarSystemRef)
        .join(System, System.id == SimilarSystemRef.system_id)
        .where(SimilarSystemRef.project_id == project.id)
    )
    limit = system_service.visible_filter(principal, System.domain_id)
    if limit is not None:
        stmt = stmt.where(limit)
    return list(session.scalars(stmt.order_by(SimilarSystemRef.created_at, SimilarSystemRef.id)).all())


def get_similar_or_raise(
    session: Session, *, principal: Principal, project: Project, ref_id: str
) -> SimilarSystemRef:
    """Return one of a project's references whose system is visible, or raise NotFound."""
    ref = session.get(SimilarSystemRef, ref_id)
    if ref is None or ref.project_id != project.id:
        raise NotFound("No such similar-system reference.")
    system_service.get_visible_or_raise(session, principal=principal, system_id=ref.system_id)
    return ref


def create_similar(
    session: Session, *, principal: Principal, project: Project, data: SimilarSystemCreate, ctx: AuditContext
) -> SimilarSystemRef:
    """Note that a project resembles an existing, visible system."""
    try:
        system = system_service.get_visible_or_raise(session, principal=principal, system_id=data.system_id)
    except NotFound as exc:
        raise NotFound(
            "No such system.",
            errors=[{"loc": ["body", "system_id"], "type": "system.not_found", "msg": data.system_id}],
        ) from exc
    exists = select(SimilarSystemRef.id).where(
        SimilarSystemRef.project_id == project.id, SimilarSystemRef.system_id == system.id
    )
    if session.scalar(exists):
        raise Conflict(
            "The project already refers to that system.",
            errors=[{"loc": ["body", "system_id"], "type": "similar_system.exists", "msg": "exists"}],
        )
    ref = SimilarSystemRef(project_id=project.id, system_id=system.id, note=data.note)
    session.add(ref)
    session.flush()
    audit_service.record(
        session,
        ctx=ctx,
        action="similar_system.create",
        target_type="similar_system",
        target_id=ref.id,
        summary=f"project {project.name} refers to similar system {system.slug}",
    )
    return ref


def update_similar(
    session: Session, *, ref: SimilarSystemRef, data: SimilarSystemUpdate, ctx: AuditContext
) -> SimilarSystemRef:
    """Change a reference's note."""
    if ref.note != data.note:
        ref.note = data.note
        session.flush()
        audit_service.record(
            session,
            ctx=ctx,
            action="similar_system.update",
            target_type="similar_system",
            target_id=ref.id,
            summary="updated the note of a similar-system reference",
        )
    return ref


def delete_similar(session: Session, *, ref: SimilarSystemRef, ctx: AuditContext) -> None:
    """Remove a reference."""
    ref_id, project_id, system_id = ref.id, ref.project_id, ref.system_id
    session.delete(ref)
    session.flush()
    audit_service.record(
        session,
        ctx=ctx,
        action="similar_system.delete",
        target_type="similar_system",
        target_id=ref_id,
        summary="removed a similar-system reference",
        changes={"project_id": project_id, "system_id": system_id},
    )
