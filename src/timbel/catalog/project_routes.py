"""Catalog API: projects (프로젝트) and their work groups (작업그룹)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from timbel.auth.deps import require
from timbel.auth.permissions import Permission
from timbel.auth.principal import Principal
from timbel.catalog import project_service
from timbel.catalog.schemas import (
    ProjectCreate,
    ProjectRead,
    ProjectStatus,
    ProjectUpdate,
    WorkGroupCreate,
    WorkGroupRead,
    WorkGroupUpdate,
)
from timbel.core.deps import AuditDep, SessionDep
from timbel.core.pagination import Page, PageDep

router = APIRouter(prefix="/api/v1/projects", tags=["catalog"])
Reader = Annotated[Principal, Depends(require(Permission.catalog_read))]
Writer = Annotated[Principal, Depends(require(Permission.catalog_write))]


@router.get("")
def list_projects(
    principal: Reader,
    session: SessionDep,
    paging: PageDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    domain_id: Annotated[str | None, Query(max_length=36)] = None,
    status: ProjectStatus | None = None,
    urgent: bool | None = None,
    sort: Annotated[str, Query(max_length=32)] = "name",
) -> Page[ProjectRead]:
    """List visible projects (filters: q, domain_id, status, urgent; sort: name, status, due_date, …)."""
    rows, total = project_service.list_projects(
        session,
        principal=principal,
        paging=paging,
        domain_id=domain_id,
        status=status.value if status else None,
        urgent=urgent,
        q=q,
        sort=sort,
    )
    return Page[ProjectRead](
        items=project_service.read_many(session, projects=rows),
        total=total,
        page=paging.page,
        per_page=paging.per_page,
    )


@router.post("", status_code=status.HTTP_201_CREATED)
def create_project(
    body: ProjectCreate, principal: Writer, session: SessionDep, audit: AuditDep
) -> ProjectRead:
    """Create a project in a visible domain (urgent handling needs a reason and a deadline)."""
    project = project_service.create(session, principal=principal, data=body, ctx=audit)
    return project_service.read(session, project=project)


@router.get("/{project_id}")
def get_project(project_id: str, principal: Reader, session: SessionDep) -> ProjectRead:
    """Read one project."""
    project = project_service.get_visible_or_raise(session, principal=principal, project_id=project_id)
    return project_service.read(session, project=project)


@router.patch("/{project_id}")
def update_project(
    project_id: str, body: ProjectUpdate, principal: Writer, session: SessionDep, audit: AuditDep
) -> ProjectRead:
    """Change a project; the merged result must still satisfy the date and urgency rules."""
    project = project_service.get_visible_or_raise(session, principal=principal, project_id=project_id)
    project_service.update(session, project=project, data=body, ctx=audit)
    return project_service.read(session, project=project)


@router.delete("/{project_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_project(project_id: str, principal: Writer, session: SessionDep, audit: AuditDep) -> Response:
    """Delete a project and its work groups."""
    project = project_service.get_visible_or_raise(session, principal=principal, project_id=project_id)
    project_service.delete(session, project=project, ctx=audit)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{project_id}/work-groups")
def list_work_groups(project_id: str, principal: Reader, session: SessionDep) -> list[WorkGroupRead]:
    """List a project's work groups in order."""
    project = project_service.get_visible_or_raise(session, principal=principal, project_id=project_id)
    return [
        project_service.read_work_group(session, group=g)
        for g in project_service.list_work_groups(session, project=project)
    ]


@router.post("/{project_id}/work-groups", status_code=status.HTTP_201_CREATED)
def create_work_group(
    project_id: str, body: WorkGroupCreate, principal: Writer, session: SessionDep, audit: AuditDep
) -> WorkGroupRead:
    """Add a work group to a project (last unless a position is given)."""
    project = project_service.get_visible_or_raise(session, principal=principal, project_id=project_id)
    group = project_service.create_work_group(session, project=project, data=body, ctx=audit)
    return project_service.read_work_group(session, group=group)


@router.patch("/{project_id}/work-groups/{work_group_id}")
def update_work_group(
    project_id: str,
    work_group_id: str,
    body: WorkGroupUpdate,
    principal: Writer,
    session: SessionDep,
    audit: AuditDep,
) -> WorkGroupRead:
    """Change a work group."""
    project = project_service.get_visible_or_raise(session, principal=principal, project_id=project_id)
    group = project_service.get_work_group_or_raise(session, project=project, work_group_id=work_group_id)
    project_service.update_work_group(session, group=group, data=body, ctx=audit)
    return project_service.read_work_group(session, group=group)


@router.delete("/{project_id}/work-groups/{work_group_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_work_group(
    project_id: str, work_group_id: str, principal: Writer, session: SessionDep, audit: AuditDep
) -> Response:
    """Remove a work group."""
    project = project_service.get_visible_or_raise(session, principal=principal, project_id=project_id)
    group = project_service.get_work_group_or_raise(session, project=project, work_group_id=work_group_id)
    project_service.delete_work_group(session, group=group, ctx=audit)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
