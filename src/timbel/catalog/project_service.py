"""Projects and their work groups, visible through the domain they belong to."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from timbel.audit import service as audit_service
from timbel.audit.service import AuditContext
from timbel.auth.principal import Principal
from timbel.catalog import service as catalog_service
from timbel.catalog.models import Domain, Project, WorkGroup
from timbel.catalog.schemas import (
    DomainRef,
    ProjectCreate,
    ProjectRead,
    ProjectUpdate,
    WorkGroupCreate,
    WorkGroupRead,
    WorkGroupUpdate,
)
from timbel.core.errors import Conflict, NotFound, ValidationFailed
from timbel.core.pagination import PageParams, fetch_page, sort_order, text_search

SORTS: dict[str, Any] = {
    "name": Project.name,
    "status": Project.status,
    "due_date": Project.due_date,
    "created_at": Project.created_at,
}


def _name_taken(field: str = "name") -> Conflict:
    return Conflict(
        "That name is already used here.",
        errors=[{"loc": ["body", field], "type": "name.taken", "msg": "taken"}],
    )


def get_visible_or_raise(session: Session, *, principal: Principal, project_id: str) -> Project:
    """Return a project in a domain the caller may see, or raise NotFound."""
    project = session.get(Project, project_id)
    if project is None or not (
        catalog_service.sees_all(principal) or project.domain_id in principal.domain_ids
    ):
        raise NotFound("No such project.")
    return project


def list_projects(
    session: Session,
    *,
    principal: Principal,
    paging: PageParams,
    domain_id: str | None = None,
    status: str | None = None,
    urgent: bool | None = None,
    q: str | None = None,
    sort: str = "name",
) -> tuple[list[Project], int]:
    """Return one page of visible projects, filtered and sorted (``-field`` for descending)."""
    order = sort_order(SORTS, sort)
    stmt = select(Project)
    if not catalog_service.sees_all(principal):
        stmt = stmt.where(Project.domain_id.in_(principal.domain_ids))
    if domain_id:
        stmt = stmt.where(Project.domain_id == domain_id)
    if status:
        stmt = stmt.where(Project.status == status)
    if urgent is not None:
        stmt = stmt.where(Project.urgent.is_(urgent))
    if q:
        stmt = stmt.where(text_search(q, Project.name, Project.description, Project.requirement_summary))
    return fetch_page(session, stmt, model=Project, order=order, paging=paging)


def create(session: Session, *, principal: Principal, data: ProjectCreate, ctx: AuditContext) -> Project:
    """Create a project in a domain the caller may see."""
    domain = catalog_service.get_visible_or_raise(session, principal=principal, domain_id=data.domain_id)
    if session.scalar(select(Project.id).where(Project.domain_id == domain.id, Project.name == data.name)):
        raise _name_taken()
    project = Project(**data.model_dump())
    session.add(project)
    session.flush()
    audit_service.record(
        session,
        ctx=ctx,
        action="project.create",
        target_type="project",
        target_id=project.id,
        summary=f"created project {project.name} in {domain.code}",
        changes={"status": project.status, "urgent": project.urgent},
    )
    return project


def update(session: Session, *, project: Project, data: ProjectUpdate, ctx: AuditContext) -> Project:
    """Apply changes, re-checking the merged project's rules (dates, urgent handling)."""
    fields = data.model_dump(exclude_unset=True)
    merged = {
        "domain_id": project.domain_id,
        "name": project.name,
        "description": project.description,
        "status": project.status,
        "start_date": project.start_date,
        "due_date": project.due_date,
        "urgent": project.urgent,
        "urgent_reason": project.urgent_reason,
        "urgent_deadline": project.urgent_deadline,
        "requirement_summary": project.requirement_summary,
        **{
            k: v
            for k, v in fields.items()
            if v is not None or k in ("start_date", "due_date", "urgent_deadline")
        },
    }
    try:
        checked = ProjectCreate.model_validate(merged)
    except ValidationError as exc:
        raise ValidationFailed(
            "The project's fields do not fit together.",
            errors=[{"loc": ["body", *e["loc"]], "type": e["type"], "msg": e["msg"]} for e in exc.errors()],
        ) from exc
    if checked.name != project.name and session.scalar(
        select(Project.id).where(Project.domain_id == project.domain_id, Project.name == checked.name)
    ):
        raise _name_taken()
    changes: dict[str, Any] = {}
    for name, value in checked.model_dump(exclude={"domain_id"}).items():
        if getattr(project, name) != value:
            changes[name] = [str(getattr(project, name)), str(value)]
            setattr(project, name, value)
    session.flush()
    if changes:
        audit_service.record(
            session,
            ctx=ctx,
            action="project.update",
            target_type="project",
            target_id=project.id,
            summary=f"updated project {project.name}: {', '.join(sorted(changes))}",
            changes=changes,
        )
    return project


def delete(session: Session, *, project: Project, ctx: AuditContext) -> None:
    """Delete a project with its work groups."""
    name, project_id = project.name, project.id
    session.delete(project)
    session.flush()
    audit_service.record(
        session,
        ctx=ctx,
        action="project.delete",
        target_type="project",
        target_id=project_id,
        summary=f"deleted project {name}",
    )


def read(session: Session, *, project: Project) -> ProjectRead:
    """Build the API view of a project."""
    return read_many(session, projects=[project])[0]


def read_many(session: Session, *, projects: Sequence[Project]) -> list[ProjectRead]:
    """Build the API views of a page of projects with one query each for domains and work groups."""
    domain_ids = {p.domain_id for p in projects}
    domains = {
        r.id: DomainRef(id=r.id, code=r.code, name=r.name)
        for r in session.execute(select(Domain.id, Domain.code, Domain.name).where(Domain.id.in_(domain_ids)))
    }
    counts: dict[str, int] = dict(
        session.execute(
            select(WorkGroup.project_id, func.count())
            .where(WorkGroup.project_id.in_([p.id for p in projects]))
            .group_by(WorkGroup.project_id)
        ).all()
    )
    return [
        ProjectRead(
            id=project.id,
            domain=domains[project.domain_id],
            name=project.name,
            description=project.description,
            status=project.status,
            start_date=project.start_date,
            due_date=project.due_date,
            urgent=project.urgent,
            urgent_reason=project.urgent_reason,
            urgent_deadline=project.urgent_deadline,
            requirement_summary=project.requirement_summary,
            work_group_count=counts.get(project.id, 0),
            created_at=project.created_at,
            updated_at=project.updated_at,
        )
        for project in projects
    ]


# --- work groups -------------------------------------------------------------------------------


def list_work_groups(session: Session, *, project: Project) -> list[WorkGroup]:
    """Return a project's work groups in their order."""
    return list(
        session.scalars(
            select(WorkGroup)
            .where(WorkGroup.project_id == project.id)
            .order_by(WorkGroup.position, WorkGroup.name)
        ).all()
    )


def get_work_group_or_raise(session: Session, *, project: Project, work_group_id: str) -> WorkGroup:
    """Return one of a project's work groups or raise NotFound."""
    group = session.get(WorkGroup, work_group_id)
    if group is None or group.project_id != project.id:
        raise NotFound("No such work group.")
    return group


def create_work_group(
    session: Session, *, project: Project, data: WorkGroupCreate, ctx: AuditContext
) -> WorkGroup:
    """Add a work group; without a position it goes last."""
    catalog_service.check_owner(session, data.owner_id)
    if session.scalar(
        select(WorkGroup.id).where(WorkGroup.project_id == project.id, WorkGroup.name == data.name)
    ):
        raise _name_taken()
    position = data.position
    if position is None:
        last = session.scalar(select(func.max(WorkGroup.position)).where(WorkGroup.project_id == project.id))
        position = 0 if last is None else last + 1
    group = WorkGroup(project_id=project.id, **data.model_dump(exclude={"position"}), position=position)
    session.add(group)
    session.flush()
    audit_service.record(
        session,
        ctx=ctx,
        action="work_group.create",
        target_type="work_group",
        target_id=group.id,
        summary=f"work group {group.name} added to project {project.name}",
    )
    return group


def update_work_group(
    session: Session, *, group: WorkGroup, data: WorkGroupUpdate, ctx: AuditContext
) -> WorkGroup:
    """Change a work group."""
    fields = data.model_dump(exclude_unset=True)
    if "owner_id" in fields:
        catalog_service.check_owner(session, fields["owner_id"])
    if (
        fields.get("name")
        and fields["name"] != group.name
        and session.scalar(
            select(WorkGroup.id).where(
                WorkGroup.project_id == group.project_id, WorkGroup.name == fields["name"]
            )
        )
    ):
        raise _name_taken()
    changes: dict[str, Any] = {}
    for name, value in fields.items():
        if value is None and name != "owner_id":
            continue
        if getattr(group, name) != value:
            changes[name] = [getattr(group, name), value]
            setattr(group, name, value)
    session.flush()
    if changes:
        audit_service.record(
            session,
            ctx=ctx,
            action="work_group.update",
            target_type="work_group",
            target_id=group.id,
            summary=f"updated work group {group.name}: {', '.join(sorted(changes))}",
            changes=changes,
        )
    return group


def delete_work_group(session: Session, *, group: WorkGroup, ctx: AuditContext) -> None:
    """Remove a work group."""
    name, group_id = group.name, group.id
    session.delete(group)
    session.flush()
    audit_service.record(
        session,
        ctx=ctx,
        action="work_group.delete",
        target_type="work_group",
        target_id=group_id,
        summary=f"deleted work group {name}",
    )


def read_work_group(session: Session, *, group: WorkGroup) -> WorkGroupRead:
    """Build the API view of a work group."""
    return WorkGroupRead(
        id=group.id,
        project_id=group.project_id,
        name=group.name,
        owner=catalog_service.user_ref(session, user_id=group.owner_id),
        position=group.position,
        status=group.status,
        description=group.description,
    )
