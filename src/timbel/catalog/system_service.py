"""Systems (시스템): git repositories built for a domain, visible exactly when their domain is."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy import delete as delete_rows
from sqlalchemy.orm import Session

from timbel.audit import service as audit_service
from timbel.audit.service import AuditContext
from timbel.auth.models import User
from timbel.auth.permissions import Permission
from timbel.auth.principal import Principal
from timbel.catalog import service as catalog_service
from timbel.catalog.models import (
    Component,
    DesignAsset,
    Document,
    Domain,
    Project,
    System,
    SystemOwner,
    SystemProject,
)
from timbel.catalog.system_schemas import SystemCreate, SystemUpdate
from timbel.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from timbel.core.pagination import PageParams, fetch_page, sort_order, text_search

SORTS: dict[str, Any] = {
    "name": System.name,
    "slug": System.slug,
    "stage": System.stage,
    "created_at": System.created_at,
    "updated_at": System.updated_at,
}
CHILDREN: dict[str, Any] = {"components": Component, "documents": Document, "design_assets": DesignAsset}


def visible_filter(principal: Principal, column: Any) -> ColumnElement[bool] | None:
    """Return the condition limiting a ``domain_id`` column to visible domains (None: no limit)."""
    if catalog_service.sees_all(principal):
        return None
    return column.in_(principal.domain_ids)  # type: ignore[no-any-return]


def get_visible_or_raise(session: Session, *, principal: Principal, system_id: str) -> System:
    """Return a system in a domain the caller may see, or raise NotFound."""
    system = session.get(System, system_id)
    if system is None or not (
        catalog_service.sees_all(principal) or system.domain_id in principal.domain_ids
    ):
        raise NotFound("No such system.")
    return system


def has_language(session: Session, language: str) -> ColumnElement[bool]:
    """Match systems whose ``languages`` JSON list holds ``language`` (case-insensitive), in SQL."""
    needle = language.strip().lower()
    if session.get_bind().dialect.name == "postgresql":
        elements = func.json_array_elements_text(System.languages).table_valued("value").alias("lang")
    else:
        elements = func.json_each(System.languages).table_valued("value").alias("lang")
    return exists(select(1).select_from(elements).where(func.lower(elements.c.value) == needle))


def list_systems(
    session: Session,
    *,
    principal: Principal,
    paging: PageParams,
    q: str | None = None,
    domain_id: str | None = None,
    stage: str | None = None,
    language: str | None = None,
    source: str | None = None,
    project_id: str | None = None,
    owner_id: str | None = None,
    sort: str = "name",
) -> tuple[list[System], int]:
    """Return one page of visible systems, filtered and sorted (``-field`` for descending)."""
    order = sort_order(SORTS, sort)
    stmt = select(System)
    limit = visible_filter(principal, System.domain_id)
    if limit is not None:
        stmt = stmt.where(limit)
    if domain_id:
        stmt = stmt.where(System.domain_id == domain_id)
    if stage:
        stmt = stmt.where(System.stage == stage)
    if source:
        stmt = stmt.where(System.source == source)
    if language and language.strip():
        stmt = stmt.where(has_language(session, language))
    if project_id:
        stmt = stmt.where(
            System.id.in_(select(SystemProject.system_id).where(SystemProject.project_id == project_id))
        )
    if owner_id:
        stmt = stmt.where(System.id.in_(select(SystemOwner.system_id).where(SystemOwner.user_id == owner_id)))
    if q:
        stmt = stmt.where(text_search(q, System.name, System.slug, System.description))
    return fetch_page(session, stmt, model=System, order=order, paging=paging)


def _slug_taken() -> Conflict:
    return Conflict(
        "A system with that slug already exists.",
        errors=[{"loc": ["body", "slug"], "type": "system.slug_taken", "msg": "taken"}],
    )


def _check_owners(session: Session, owner_ids: Sequence[str]) -> list[str]:
    wanted = list(dict.fromkeys(owner_ids))
    known = set(session.scalars(select(User.id).where(User.id.in_(wanted)))) if wanted else set()
    missing = [u for u in wanted if u not in known]
    if missing:
        raise ValidationFailed(
            "Unknown owner.",
            errors=[
                {"loc": ["body", "owner_ids"], "type": "user.unknown", "msg": f"no user {u}"} for u in missing
            ],
        )
    return wanted


def _check_projects(
    session: Session, *, principal: Principal, domain_id: str, project_ids: Sequence[str]
) -> list[str]:
    """Refuse projects that are missing or invisible (404) or belong to another domain (422)."""
    wanted = list(dict.fromkeys(project_ids))
    found = dict(session.execute(select(Project.id, Project.domain_id).where(Project.id.in_(wanted))).all())
    for project_id in wanted:
        project_domain = found.get(project_id)
        if project_domain is None or not (
            catalog_service.sees_all(principal) or project_domain in principal.domain_ids
        ):
            raise NotFound(
                "No such project.",
                errors=[{"loc": ["body", "project_ids"], "type": "project.not_found", "msg": project_id}],
            )
        if project_domain != domain_id:
            raise ValidationFailed(
                "A system can only serve projects of its own domain.",
                errors=[
                    {"loc": ["body", "project_ids"], "type": "system.project_other_domain", "msg": project_id}
                ],
            )
    return wanted


def _set_links(
    session: Session, system: System, *, owner_ids: list[str] | None, project_ids: list[str] | None
) -> None:
    if owner_ids is not None:
        session.execute(delete_rows(SystemOwner).where(SystemOwner.system_id == system.id))
        session.add_all(SystemOwner(system_id=system.id, user_id=u) for u in owner_ids)
    if project_ids is not None:
        session.execute(delete_rows(SystemProject).where(SystemProject.system_id == system.id))
        session.add_all(SystemProject(system_id=system.id, project_id=p) for p in project_ids)
    session.flush()


def _column_values(fields: dict[str, Any]) -> dict[str, Any]:
    """Map API fields (nested tech stack and last commit) onto the flat model columns."""
    values = {
        k: v for k, v in fields.items() if k not in {"tech_stack", "last_commit", "owner_ids", "project_ids"}
    }
    if "tech_stack" in fields and fields["tech_stack"] is not None:
        values.update(fields["tech_stack"])
    if "last_commit" in fields:
        commit = fields["last_commit"] or {}
        values.update(
            last_commit_sha=commit.get("sha"),
            last_commit_author=commit.get("author", ""),
            last_commit_at=commit.get("at"),
            last_commit_message=commit.get("message", ""),
        )
    return values


def create(session: Session, *, principal: Principal, data: SystemCreate, ctx: AuditContext) -> System:
    """Create a system in a visible domain with its owners and projects."""
    domain = session.get(Domain, data.domain_id)
    if domain is None or not (catalog_service.sees_all(principal) or domain.id in principal.domain_ids):
        raise NotFound(
            "No such domain.",
            errors=[{"loc": ["body", "domain_id"], "type": "domain.not_found", "msg": "no such domain"}],
        )
    if session.scalar(select(System.id).where(System.slug == data.slug)):
        raise _slug_taken()
    owners = _check_owners(session, data.owner_ids)
    projects = _check_projects(
        session, principal=principal, domain_id=domain.id, project_ids=data.project_ids
    )
    system = System(**_column_values(data.model_dump()))
    session.add(system)
    session.flush()
    _set_links(session, system, owner_ids=owners, project_ids=projects)
    audit_service.record(
        session,
        ctx=ctx,
        action="system.create",
        target_type="system",
        target_id=system.id,
        summary=f"created system {system.slug} in {domain.code}",
        changes={"slug": system.slug, "stage": system.stage, "source": system.source},
    )
    return system


def owner_ids_of(session: Session, *, system_id: str) -> list[str]:
    """Return the ids of a system's owners."""
    return sorted(session.scalars(select(SystemOwner.user_id).where(SystemOwner.system_id == system_id)))


def project_ids_of(session: Session, *, system_id: str) -> list[str]:
    """Return the ids of the projects a system serves."""
    return sorted(
        session.scalars(select(SystemProject.project_id).where(SystemProject.system_id == system_id))
    )


def update(
    session: Session, *, principal: Principal, system: System, data: SystemUpdate, ctx: AuditContext
) -> System:
    """Apply changes (the domain is fixed) and audit what changed."""
    fields = data.model_dump(exclude_unset=True)
    if fields.pop("domain_id", None) not in (None, system.domain_id):
        raise ValidationFailed(
            "A system's domain cannot change.",
            errors=[{"loc": ["body", "domain_id"], "type": "system.domain_immutable", "msg": "fixed"}],
        )
    nullable = {"last_commit"}
    fields = {k: v for k, v in fields.items() if v is not None or k in nullable}
    new_slug = fields.get("slug")
    if (
        new_slug
        and new_slug != system.slug
        and session.scalar(select(System.id).where(System.slug == new_slug))
    ):
        raise _slug_taken()
    changes: dict[str, Any] = {}
    owners = projects = None
    if "owner_ids" in fields:
        owners = _check_owners(session, fields["owner_ids"])
        if set(owners) != set(owner_ids_of(session, system_id=system.id)):
            changes["owners"] = "changed"
    if "project_ids" in fields:
        projects = _check_projects(
            session, principal=principal, domain_id=system.domain_id, project_ids=fields["project_ids"]
        )
        if set(projects) != set(project_ids_of(session, system_id=system.id)):
            changes["projects"] = "changed"
    for name, value in _column_values(fields).items():
        if getattr(system, name) != value:
            before = getattr(system, name)
            changes[name] = [str(before), str(value)] if isinstance(value, str | None) else "changed"
            setattr(system, name, value)
    _set_links(session, system, owner_ids=owners, project_ids=projects)
    if changes:
        audit_service.record(
            session,
            ctx=ctx,
            action="system.update",
            target_type="system",
            target_id=system.id,
            summary=f"updated system {system.slug}: {', '.join(sorted(changes))}",
            changes=changes,
        )
    return system


def count_children(session: Session, *, system_ids: Sequence[str]) -> dict[str, dict[str, int]]:
    """Return, per system id, how many components, documents and design assets it holds (3 queries)."""
    result: dict[str, dict[str, int]] = {sid: dict.fromkeys(CHILDREN, 0) for sid in system_ids}
    if not system_ids:
        return result
    for name, model in CHILDREN.items():
        rows = session.execute(
            select(model.system_id, func.count())
            .where(model.system_id.in_(system_ids))
            .group_by(model.system_id)
        )
        for system_id, count in rows:
            result[system_id][name] = count
    return result


def delete(
    session: Session, *, principal: Principal, system: System, cascade: bool, ctx: AuditContext
) -> None:
    """Delete a system; one that still holds entries needs ``cascade`` from an administrator."""
    children = count_children(session, system_ids=[system.id])[system.id]
    if any(children.values()):
        summary = ", ".join(f"{n} {kind}" for kind, n in children.items() if n)
        if not cascade:
            raise Conflict(
                f"The system still has {summary}; an administrator can delete it with cascade=true.",
                errors=[{"loc": ["query", "cascade"], "type": "system.has_children", "msg": summary}],
            )
        if not principal.has(Permission.admin_users):
            raise PermissionDenied("Only an administrator can delete a system together with what it holds.")
    slug, system_id = system.slug, system.id
    session.delete(system)
    session.flush()
    audit_service.record(
        session,
        ctx=ctx,
        action="system.delete",
        target_type="system",
        target_id=system_id,
        summary=f"deleted system {slug}" + (" with everything it held" if any(children.values()) else ""),
        changes={"cascaded": children},
    )
