"""Design assets (디자인 자산) of systems and projects: an uploaded file and/or a web link, with tags."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Text, cast, select
from sqlalchemy.orm import Session

from timbel.audit import service as audit_service
from timbel.audit.service import AuditContext
from timbel.auth.principal import Principal
from timbel.catalog import asset_service, versions
from timbel.catalog.asset_schemas import DesignAssetCreate, DesignAssetRead, DesignAssetUpdate
from timbel.catalog.models import DesignAsset, StoredFile
from timbel.core.errors import ValidationFailed
from timbel.core.pagination import PageParams, fetch_page, sort_order, text_search

SORTS: dict[str, Any] = {
    "title": DesignAsset.title,
    "kind": DesignAsset.kind,
    "created_at": DesignAsset.created_at,
    "updated_at": DesignAsset.updated_at,
}


def _needs_file_or_url() -> ValidationFailed:
    return ValidationFailed(
        "A design asset needs a file or a link.",
        errors=[{"loc": ["body", "url"], "type": "design_asset.file_or_url", "msg": "give a file or a URL"}],
    )


def get_visible_or_raise(session: Session, *, principal: Principal, design_asset_id: str) -> DesignAsset:
    """Return a design asset the caller may see, or raise NotFound."""
    return asset_service.get_visible(
        session, DesignAsset, principal=principal, asset_id=design_asset_id, label="design asset"
    )


def tag_filter(tag: str) -> Any:
    """Match assets whose JSON tag list holds exactly ``tag`` (portable across SQLite and PostgreSQL)."""
    return cast(DesignAsset.tags, Text).contains(json.dumps(tag.strip()), autoescape=True)


def list_design_assets(
    session: Session,
    *,
    principal: Principal,
    paging: PageParams,
    q: str | None = None,
    domain_id: str | None = None,
    system_id: str | None = None,
    project_id: str | None = None,
    kind: str | None = None,
    tag: str | None = None,
    sort: str = "title",
) -> tuple[list[DesignAsset], int]:
    """Return one page of visible design assets, filtered and sorted (``-field`` for descending)."""
    order = sort_order(SORTS, sort)
    stmt = asset_service.scoped(select(DesignAsset), DesignAsset.domain_id, principal)
    if q:
        stmt = stmt.where(text_search(q, DesignAsset.title, DesignAsset.description))
    for column, value in (
        (DesignAsset.domain_id, domain_id),
        (DesignAsset.system_id, system_id),
        (DesignAsset.project_id, project_id),
        (DesignAsset.kind, kind),
    ):
        if value:
            stmt = stmt.where(column == value)
    if tag and tag.strip():
        stmt = stmt.where(tag_filter(tag))
    return fetch_page(session, stmt, model=DesignAsset, order=order, paging=paging)


def create(
    session: Session,
    *,
    principal: Principal,
    data: DesignAssetCreate,
    ctx: AuditContext,
    stored: StoredFile | None = None,
) -> DesignAsset:
    """Create a design asset from a link and/or an uploaded file; store version 1."""
    if stored is None and not data.url:
        raise _needs_file_or_url()
    domain_id, owner = asset_service.owner_domain(
        session, principal=principal, system_id=data.system_id, project_id=data.project_id
    )
    asset = DesignAsset(
        domain_id=domain_id,
        system_id=data.system_id,
        project_id=data.project_id,
        title=data.title,
        kind=data.kind.value,
        description=data.description,
        url=data.url,
        tags=list(data.tags),
        file_id=stored.id if stored else None,
        version=1,
        created_by=ctx.actor_id,
    )
    session.add(asset)
    versions.record(session, asset=asset, author_id=ctx.actor_id)
    audit_service.record(
        session,
        ctx=ctx,
        action="design_asset.create",
        target_type="design_asset",
        target_id=asset.id,
        summary=f"created design asset {asset.title} ({asset.kind}) for {owner}",
        changes={"url": asset.url, "file": stored.sha256 if stored else None, "tags": asset.tags},
    )
    return asset


def update(
    session: Session, *, asset: DesignAsset, data: DesignAssetUpdate, ctx: AuditContext
) -> DesignAsset:
    """Apply changes; a real change becomes a new version. An asset keeps a file or a link."""
    fields = {k: v for k, v in data.model_dump(mode="json", exclude_unset=True).items() if v is not None}
    if fields.get("url") == "" and asset.file_id is None:
        raise _needs_file_or_url()
    changes = asset_service.apply_changes(asset, fields)
    if changes:
        asset_service.new_version(session, asset=asset, author_id=ctx.actor_id)
        audit_service.record(
            session,
            ctx=ctx,
            action="design_asset.update",
            target_type="design_asset",
            target_id=asset.id,
            summary=f"updated design asset {asset.title}: {', '.join(sorted(changes))}",
            changes=changes,
        )
    return asset


def read(session: Session, *, asset: DesignAsset) -> DesignAssetRead:
    """Build the API view of a design asset."""
    return read_many(session, assets=[asset])[0]


def read_many(session: Session, *, assets: Sequence[DesignAsset]) -> list[DesignAssetRead]:
    """Build the API views of a page of design assets with a fixed number of queries."""
    owners = asset_service.owner_fields(session, assets=assets)
    return [
        DesignAssetRead(
            **owners[a.id],
            id=a.id,
            title=a.title,
            kind=a.kind,
            description=a.description,
            url=a.url,
            tags=list(a.tags or []),
            source=a.source,
            commit_sha=a.commit_sha,
            version=a.version,
            created_at=a.created_at,
            updated_at=a.updated_at,
        )
        for a in assets
    ]
