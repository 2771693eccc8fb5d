"""Catalog API: code components (코드 컴포넌트), their versions and reuse, and the popular-assets list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from timbel.auth.deps import require
from timbel.auth.permissions import Permission
from timbel.auth.principal import Principal
from timbel.catalog import asset_service, component_service, usage
from timbel.catalog.asset_schemas import (
    AssetSource,
    ComponentCreate,
    ComponentKind,
    ComponentRead,
    ComponentUpdate,
    PopularItem,
    UsageRead,
    VersionDiff,
    VersionRead,
    VersionSummary,
)
from timbel.core.deps import AuditDep, SessionDep
from timbel.core.pagination import Page, PageDep

router = APIRouter(prefix="/api/v1", tags=["catalog"])
Reader = Annotated[Principal, Depends(require(Permission.catalog_read))]
Writer = Annotated[Principal, Depends(require(Permission.catalog_write))]
Id = Annotated[str, Query(max_length=36)]
FromVersion = Annotated[int, Query(alias="from", ge=1)]
ToVersion = Annotated[int, Query(alias="to", ge=1)]


@router.get("/components")
def list_components(
    principal: Reader,
    session: SessionDep,
    paging: PageDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    domain_id: Id | None = None,
    system_id: Id | None = None,
    kind: ComponentKind | None = None,
    language: Annotated[str | None, Query(max_length=64)] = None,
    source: AssetSource | None = None,
    sort: Annotated[str, Query(max_length=32)] = "name",
) -> Page[ComponentRead]:
    """List visible components (filters: q, domain_id, system_id, kind, language, source)."""
    rows, total = component_service.list_components(
        session,
        principal=principal,
        paging=paging,
        q=q,
        domain_id=domain_id,
        system_id=system_id,
        kind=kind.value if kind else None,
        language=language,
        source=source.value if source else None,
        sort=sort,
    )
    return Page[ComponentRead](
        items=component_service.read_many(session, components=rows),
        total=total,
        page=paging.page,
        per_page=paging.per_page,
    )


@router.post("/components", status_code=status.HTTP_201_CREATED)
def create_component(
    body: ComponentCreate, principal: Writer, session: SessionDep, audit: AuditDep
) -> ComponentRead:
    """Create a component in a visible system (names are unique per system)."""
    component = component_service.create(session, principal=principal, data=body, ctx=audit)
    return component_service.read(session, component=component)


@router.get("/components/{component_id}")
def get_component(component_id: str, principal: Reader, session: SessionDep) -> ComponentRead:
    """Read one component (counts a view)."""
    component = component_service.get_visible_or_raise(
        session, principal=principal, component_id=component_id
    )
    usage.bump(session, asset=component, kind=usage.UsageKind.view)
    return component_service.read(session, component=component)


@router.patch("/components/{component_id}")
def update_component(
    component_id: str, body: ComponentUpdate, principal: Writer, session: SessionDep, audit: AuditDep
) -> ComponentRead:
    """Change a component; a real change is a new version."""
    component = component_service.get_visible_or_raise(
        session, principal=principal, component_id=component_id
    )
    component_service.update(session, component=component, data=body, ctx=audit)
    return component_service.read(session, component=component)


@router.delete("/components/{component_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_component(component_id: str, principal: Writer, session: SessionDep, audit: AuditDep) -> Response:
    """Delete a component with its versions and usage counts."""
    component = component_service.get_visible_or_raise(
        session, principal=principal, component_id=component_id
    )
    asset_service.delete(session, asset=component, ctx=audit)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/components/{component_id}/reuse")
def reuse_component(component_id: str, principal: Reader, session: SessionDep, audit: AuditDep) -> UsageRead:
    """Record that the caller reused (copied) a component; returns its counters."""
    component = component_service.get_visible_or_raise(
        session, principal=principal, component_id=component_id
    )
    return component_service.record_reuse(session, component=component, ctx=audit)


@router.get("/components/{component_id}/versions")
def list_component_versions(
    component_id: str, principal: Reader, session: SessionDep
) -> list[VersionSummary]:
    """List a component's versions, newest first."""
    component = component_service.get_visible_or_raise(
        session, principal=principal, component_id=component_id
    )
    return asset_service.version_list(session, asset=component)


@router.get("/components/{component_id}/versions/{version}")
def get_component_version(
    component_id: str, version: int, principal: Reader, session: SessionDep
) -> VersionRead:
    """Read one saved version of a component."""
    component = component_service.get_visible_or_raise(
        session, principal=principal, component_id=component_id
    )
    return asset_service.version_read(session, asset=component, version=version)


@router.get("/components/{component_id}/diff")
def diff_component(
    component_id: str,
    from_version: FromVersion,
    to_version: ToVersion,
    principal: Reader,
    session: SessionDep,
) -> VersionDiff:
    """Compare two versions of a component field by field."""
    component = component_service.get_visible_or_raise(
        session, principal=principal, component_id=component_id
    )
    return asset_service.version_diff(
        session, asset=component, from_version=from_version, to_version=to_version
    )


@router.get("/catalog/popular")
def popular_assets(
    principal: Reader,
    session: SessionDep,
    by: usage.UsageKind = usage.UsageKind.view,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> list[PopularItem]:
    """List the most viewed, downloaded or reused assets among those the caller may see."""
    return asset_service.popular(session, principal=principal, by=by, limit=limit)
