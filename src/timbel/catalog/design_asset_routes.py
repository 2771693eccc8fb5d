"""Catalog API: design assets (디자인 자산) — links or uploaded files with tags, downloads, versions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Response, UploadFile, status

from timbel.auth.deps import require
from timbel.auth.permissions import Permission
from timbel.auth.principal import Principal
from timbel.catalog import asset_service, design_asset_service, files, usage
from timbel.catalog.asset_schemas import (
    DesignAssetCreate,
    DesignAssetKind,
    DesignAssetRead,
    DesignAssetUpdate,
    VersionDiff,
    VersionRead,
    VersionSummary,
)
from timbel.core.deps import AuditDep, SessionDep, SettingsDep
from timbel.core.pagination import Page, PageDep

router = APIRouter(prefix="/api/v1/design-assets", tags=["catalog"])
Reader = Annotated[Principal, Depends(require(Permission.catalog_read))]
Writer = Annotated[Principal, Depends(require(Permission.catalog_write))]
Id = Annotated[str, Query(max_length=36)]
FormId = Annotated[str | None, Form(max_length=36)]
Upload = Annotated[UploadFile, File(description="The file; its type is sniffed from the content.")]


def split_tags(values: list[str]) -> list[str]:
    """Accept tags as repeated fields and/or comma-separated text."""
    return [part for value in values for part in value.split(",")]


@router.get("")
def list_design_assets(
    principal: Reader,
    session: SessionDep,
    paging: PageDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    domain_id: Id | None = None,
    system_id: Id | None = None,
    project_id: Id | None = None,
    kind: DesignAssetKind | None = None,
    tag: Annotated[str | None, Query(max_length=50)] = None,
    sort: Annotated[str, Query(max_length=32)] = "title",
) -> Page[DesignAssetRead]:
    """List visible design assets (filters: q, domain_id, system_id, project_id, kind, tag)."""
    rows, total = design_asset_service.list_design_assets(
        session,
        principal=principal,
        paging=paging,
        q=q,
        domain_id=domain_id,
        system_id=system_id,
        project_id=project_id,
        kind=kind.value if kind else None,
        tag=tag,
        sort=sort,
    )
    return Page[DesignAssetRead](
        items=design_asset_service.read_many(session, assets=rows),
        total=total,
        page=paging.page,
        per_page=paging.per_page,
    )


@router.post("", status_code=status.HTTP_201_CREATED)
def create_design_asset(
    body: DesignAssetCreate, principal: Writer, session: SessionDep, audit: AuditDep
) -> DesignAssetRead:
    """Create a design asset from a link (http/https) for a visible system or project."""
    asset = design_asset_service.create(session, principal=principal, data=body, ctx=audit)
    return design_asset_service.read(session, asset=asset)


@router.post("/upload", status_code=status.HTTP_201_CREATED)
def upload_design_asset(
    file: Upload,
    principal: Writer,
    session: SessionDep,
    audit: AuditDep,
    settings: SettingsDep,
    title: Annotated[str, Form(max_length=300)],
    kind: Annotated[str, Form(max_length=32)] = DesignAssetKind.image.value,
    description: Annotated[str, Form(max_length=20_000)] = "",
    url: Annotated[str, Form(max_length=1000)] = "",
    tags: Annotated[list[str] | None, Form()] = None,
    system_id: FormId = None,
    project_id: FormId = None,
) -> DesignAssetRead:
    """Upload a design file (multipart: fields plus ``file``); 413 past the limit, 415 for other types."""
    data = asset_service.validated(
        DesignAssetCreate,
        {
            "title": title,
            "kind": kind,
            "description": description,
            "url": url,
            "tags": split_tags(tags or []),
            "system_id": system_id,
            "project_id": project_id,
        },
    )
    stored = files.receive(
        session,
        stream=file.file,
        filename=file.filename,
        declared_type=file.content_type,
        settings=settings.catalog,
        created_by=principal.user_id,
    )
    asset = design_asset_service.create(session, principal=principal, data=data, ctx=audit, stored=stored)
    return design_asset_service.read(session, asset=asset)


@router.get("/{asset_id}")
def get_design_asset(asset_id: str, principal: Reader, session: SessionDep) -> DesignAssetRead:
    """Read one design asset (counts a view)."""
    asset = design_asset_service.get_visible_or_raise(session, principal=principal, design_asset_id=asset_id)
    usage.bump(session, asset=asset, kind=usage.UsageKind.view)
    return design_asset_service.read(session, asset=asset)


@router.patch("/{asset_id}")
def update_design_asset(
    asset_id: str, body: DesignAssetUpdate, principal: Writer, session: SessionDep, audit: AuditDep
) -> DesignAssetRead:
    """Change a design asset; a real change is a new version."""
    asset = design_asset_service.get_visible_or_raise(session, principal=principal, design_asset_id=asset_id)
    design_asset_service.update(session, asset=asset, data=body, ctx=audit)
    return design_asset_service.read(session, asset=asset)


@router.delete("/{asset_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_design_asset(asset_id: str, principal: Writer, session: SessionDep, audit: AuditDep) -> Response:
    """Delete a design asset with its versions and usage counts."""
    asset = design_asset_service.get_visible_or_raise(session, principal=principal, design_asset_id=asset_id)
    asset_service.delete(session, asset=asset, ctx=audit)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{asset_id}/file")
def download_design_asset(asset_id: str, principal: Reader, session: SessionDep) -> Response:
    """Download a design asset's file as an attachment (counts a download)."""
    asset = design_asset_service.get_visible_or_raise(session, principal=principal, design_asset_id=asset_id)
    stored, data = asset_service.download(session, asset=asset)
    return files.download_response(stored, data)


@router.put("/{asset_id}/file")
def replace_design_asset_file(
    asset_id: str,
    file: Upload,
    principal: Writer,
    session: SessionDep,
    audit: AuditDep,
    settings: SettingsDep,
) -> DesignAssetRead:
    """Upload a new file for a design asset (a new version)."""
    asset = design_asset_service.get_visible_or_raise(session, principal=principal, design_asset_id=asset_id)
    stored = files.receive(
        session,
        stream=file.file,
        filename=file.filename,
        declared_type=file.content_type,
        settings=settings.catalog,
        created_by=principal.user_id,
    )
    asset_service.replace_file(session, asset=asset, stored=stored, ctx=audit)
    return design_asset_service.read(session, asset=asset)


@router.get("/{asset_id}/versions")
def list_design_asset_versions(asset_id: str, principal: Reader, session: SessionDep) -> list[VersionSummary]:
    """List a design asset's versions, newest first."""
    asset = design_asset_service.get_visible_or_raise(session, principal=principal, design_asset_id=asset_id)
    return asset_service.version_list(session, asset=asset)


@router.get("/{asset_id}/versions/{version}")
def get_design_asset_version(
    asset_id: str, version: int, principal: Reader, session: SessionDep
) -> VersionRead:
    """Read one saved version of a design asset."""
    asset = design_asset_service.get_visible_or_raise(session, principal=principal, design_asset_id=asset_id)
    return asset_service.version_read(session, asset=asset, version=version)


@router.get("/{asset_id}/diff")
def diff_design_asset(
    asset_id: str,
    from_version: Annotated[int, Query(alias="from", ge=1)],
    to_version: Annotated[int, Query(alias="to", ge=1)],
    principal: Reader,
    session: SessionDep,
) -> VersionDiff:
    """Compare two versions of a design asset field by field."""
    asset = design_asset_service.get_visible_or_raise(session, principal=principal, design_asset_id=asset_id)
    return asset_service.version_diff(session, asset=asset, from_version=from_version, to_version=to_version)
