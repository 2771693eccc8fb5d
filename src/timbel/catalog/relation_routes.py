"""Catalog API: relations between systems and components, similar-system references of projects."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from timbel.auth.deps import require
from timbel.auth.permissions import Permission
from timbel.auth.principal import Principal
from timbel.catalog import project_service, relation_service, system_read
from timbel.catalog.system_schemas import (
    RelationCreate,
    RelationKind,
    RelationRead,
    RelationUpdate,
    SimilarSystemCreate,
    SimilarSystemRead,
    SimilarSystemUpdate,
)
from timbel.core.deps import AuditDep, SessionDep
from timbel.core.pagination import Page, PageDep

router = APIRouter(tags=["catalog"])
Reader = Annotated[Principal, Depends(require(Permission.catalog_read))]
Writer = Annotated[Principal, Depends(require(Permission.catalog_write))]
RELATIONS = "/api/v1/relations"
SIMILAR = "/api/v1/projects/{project_id}/similar-systems"


@router.get(RELATIONS)
def list_relations(
    principal: Reader,
    session: SessionDep,
    paging: PageDep,
    system_id: Annotated[str | None, Query(max_length=36, description="Either end is this system.")] = None,
    component_id: Annotated[
        str | None, Query(max_length=36, description="Either end is this component.")
    ] = None,
    kind: RelationKind | None = None,
) -> Page[RelationRead]:
    """List relations whose both ends are visible, newest first."""
    rows, total = relation_service.list_relations(
        session,
        principal=principal,
        paging=paging,
        system_id=system_id,
        component_id=component_id,
        kind=kind.value if kind else None,
    )
    return Page[RelationRead](
        items=system_read.relation_reads(session, relations=rows),
        total=total,
        page=paging.page,
        per_page=paging.per_page,
    )


@router.post(RELATIONS, status_code=status.HTTP_201_CREATED)
def create_relation(
    body: RelationCreate, principal: Writer, session: SessionDep, audit: AuditDep
) -> RelationRead:
    """Relate two visible systems or components (API kinds need a component of kind ``api`` as target)."""
    relation = relation_service.create(session, principal=principal, data=body, ctx=audit)
    return system_read.relation_reads(session, relations=[relation])[0]


@router.get(RELATIONS + "/{relation_id}")
def get_relation(relation_id: str, principal: Reader, session: SessionDep) -> RelationRead:
    """Read one relation."""
    relation = relation_service.get_visible_or_raise(session, principal=principal, relation_id=relation_id)
    return system_read.relation_reads(session, relations=[relation])[0]


@router.patch(RELATIONS + "/{relation_id}")
def update_relation(
    relation_id: str, body: RelationUpdate, principal: Writer, session: SessionDep, audit: AuditDep
) -> RelationRead:
    """Change a relation's note."""
    relation = relation_service.get_visible_or_raise(session, principal=principal, relation_id=relation_id)
    relation_service.update(session, relation=relation, data=body, ctx=audit)
    return system_read.relation_reads(session, relations=[relation])[0]


@router.delete(RELATIONS + "/{relation_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_relation(relation_id: str, principal: Writer, session: SessionDep, audit: AuditDep) -> Response:
    """Remove a relation."""
    relation = relation_service.get_visible_or_raise(session, principal=principal, relation_id=relation_id)
    relation_service.delete(session, relation=relation, ctx=audit)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(SIMILAR)
def list_similar_systems(project_id: str, principal: Reader, session: SessionDep) -> list[SimilarSystemRead]:
    """List a project's references to similar systems (only systems the caller may see)."""
    project = project_service.get_visible_or_raise(session, principal=principal, project_id=project_id)
    refs = relation_service.list_similar(session, principal=principal, project=project)
    return system_read.similar_reads(session, refs=refs)


@router.post(SIMILAR, status_code=status.HTTP_201_CREATED)
def create_similar_system(
    project_id: str, body: SimilarSystemCreate, principal: Writer, session: SessionDep, audit: AuditDep
) -> SimilarSystemRead:
    """Refer a project to an existing, visible system with a note."""
    project = project_service.get_visible_or_raise(session, principal=principal, project_id=project_id)
    ref = relation_service.create_similar(session, principal=principal, project=project, data=body, ctx=audit)
    return system_read.similar_reads(session, refs=[ref])[0]


@router.patch(SIMILAR + "/{ref_id}")
def update_similar_system(
    project_id: str,
    ref_id: str,
    body: SimilarSystemUpdate,
    principal: Writer,
    session: SessionDep,
    audit: AuditDep,
) -> SimilarSystemRead:
    """Change the note of a similar-system reference."""
    project = project_service.get_visible_or_raise(session, principal=principal, project_id=project_id)
    ref = relation_service.get_similar_or_raise(session, principal=principal, project=project, ref_id=ref_id)
    relation_service.update_similar(session, ref=ref, data=body, ctx=audit)
    return system_read.similar_reads(session, refs=[ref])[0]


@router.delete(SIMILAR + "/{ref_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_similar_system(
    project_id: str, ref_id: str, principal: Writer, session: SessionDep, audit: AuditDep
) -> Response:
    """Remove a similar-system reference."""
    project = project_service.get_visible_or_raise(session, principal=principal, project_id=project_id)
    ref = relation_service.get_similar_or_raise(session, principal=principal, project=project, ref_id=ref_id)
    relation_service.delete_similar(session, ref=ref, ctx=audit)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
