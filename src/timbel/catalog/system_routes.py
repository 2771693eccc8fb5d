"""Catalog API: systems (시스템) and the relations graph around one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from timbel.auth.deps import require
from timbel.auth.permissions import Permission
from timbel.auth.principal import Principal
from timbel.catalog import relation_graph, system_read, system_service
from timbel.catalog.system_schemas import Graph, Source, Stage, SystemCreate, SystemRead, SystemUpdate
from timbel.core.deps import AuditDep, SessionDep
from timbel.core.pagination import Page, PageDep

router = APIRouter(prefix="/api/v1/systems", tags=["catalog"])
Reader = Annotated[Principal, Depends(require(Permission.catalog_read))]
Writer = Annotated[Principal, Depends(require(Permission.catalog_write))]
Id = Annotated[str | None, Query(max_length=36)]


@router.get("")
def list_systems(
    principal: Reader,
    session: SessionDep,
    paging: PageDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    domain_id: Id = None,
    stage: Stage | None = None,
    language: Annotated[str | None, Query(max_length=50)] = None,
    source: Source | None = None,
    project_id: Id = None,
    owner_id: Id = None,
    sort: Annotated[str, Query(max_length=32)] = "name",
) -> Page[SystemRead]:
    """List visible systems (filters: q, domain_id, stage, language, source, project_id, owner_id;
    sort: name, slug, stage, created_at, updated_at, ``-`` for descending)."""
    rows, total = system_service.list_systems(
        session,
        principal=principal,
        paging=paging,
        q=q,
        domain_id=domain_id,
        stage=stage.value if stage else None,
        language=language,
        source=source.value if source else None,
        project_id=project_id,
        owner_id=owner_id,
        sort=sort,
    )
    return Page[SystemRead](
        items=system_read.read_many(session, systems=rows),
        total=total,
        page=paging.page,
        per_page=paging.per_page,
    )


@router.post("", status_code=status.HTTP_201_CREATED)
def create_system(body: SystemCreate, principal: Writer, session: SessionDep, audit: AuditDep) -> SystemRead:
    """Register a system in a visible domain (the slug is unique across the catalog)."""
    system = system_service.create(session, principal=principal, data=body, ctx=audit)
    return system_read.read(session, system=system)


@router.get("/{system_id}")
def get_system(system_id: str, principal: Reader, session: SessionDep) -> SystemRead:
    """Read one system."""
    system = system_service.get_visible_or_raise(session, principal=principal, system_id=system_id)
    return system_read.read(session, system=system)


@router.patch("/{system_id}")
def update_system(
    system_id: str, body: SystemUpdate, principal: Writer, session: SessionDep, audit: AuditDep
) -> SystemRead:
    """Change a system (its domain is fixed; readiness is set by analysis, not here)."""
    system = system_service.get_visible_or_raise(session, principal=principal, system_id=system_id)
    system_service.update(session, principal=principal, system=system, data=body, ctx=audit)
    return system_read.read(session, system=system)


@router.delete("/{system_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_system(
    system_id: str,
    principal: Writer,
    session: SessionDep,
    audit: AuditDep,
    cascade: Annotated[
        bool,
        Query(description="Also delete its components, documents and design assets (administrators only)."),
    ] = False,
) -> Response:
    """Delete a system; one that still holds entries answers 409 unless an administrator cascades."""
    system = system_service.get_visible_or_raise(session, principal=principal, system_id=system_id)
    system_service.delete(session, principal=principal, system=system, cascade=cascade, ctx=audit)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{system_id}/graph")
def system_graph(
    system_id: str,
    principal: Reader,
    session: SessionDep,
    depth: Annotated[int, Query(ge=1, le=2, description="How many relation hops to follow.")] = 1,
) -> Graph:
    """Return the visible relations around a system and its components as nodes and edges."""
    system = system_service.get_visible_or_raise(session, principal=principal, system_id=system_id)
    return relation_graph.build(session, principal=principal, system=system, depth=depth)
