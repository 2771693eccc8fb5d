"""Releases API: list and cut a system's releases, read one release.

Reading needs ``deploy:read``, cutting ``deploy:nonprod``; releases are scoped to the caller's domains
through their system (others answer 404).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from timbel.auth.deps import require
from timbel.auth.permissions import Permission
from timbel.auth.principal import Principal
from timbel.catalog import system_service
from timbel.core.deps import AuditDep, SessionDep, SettingsDep
from timbel.core.errors import NotFound
from timbel.core.pagination import Page, PageDep, fetch_page
from timbel.deployments import releases
from timbel.deployments.models import Release

router = APIRouter(prefix="/api/v1", tags=["releases"])
Reader = Annotated[Principal, Depends(require(Permission.deploy_read))]
Cutter = Annotated[Principal, Depends(require(Permission.deploy_nonprod))]


class ImageRead(BaseModel):
    """One service's image in a release."""

    service: str
    repository: str
    tag: str
    digest: str | None = None


class ReleaseRead(BaseModel):
    """A release as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    system_id: str
    version: str
    source_commit: str
    images: list[ImageRead]
    chart_version: str
    values: dict[str, Any]
    values_hash: str
    pipeline_run_id: str | None
    notes: str
    created_by_id: str | None
    created_by: str
    created_at: datetime


class ReleaseCreate(BaseModel):
    """Cut a release: version label, source commit, one image reference per service."""

    model_config = ConfigDict(extra="forbid")

    version: str = Field(min_length=1, max_length=100)
    source_commit: str = Field(min_length=7, max_length=64)
    images: list[str] = Field(
        min_length=1,
        max_length=50,
        description="`[service=]repo:tag`, `repo@sha256:<hex>` or `repo:tag@sha256:<hex>`",
    )
    notes: str = Field(default="", max_length=5000)


def visible_release(session: Session, *, principal: Principal, release_id: str) -> Release:
    """A release whose system the caller may see, or NotFound."""
    release = session.get(Release, release_id)
    if release is None:
        raise NotFound("Release not found.")
    try:
        system_service.get_visible_or_raise(session, principal=principal, system_id=release.system_id)
    except NotFound as exc:
        raise NotFound("Release not found.") from exc
    return release


@router.get("/systems/{system_id}/releases")
def list_releases(
    system_id: str, principal: Reader, session: SessionDep, paging: PageDep
) -> Page[ReleaseRead]:
    """A system's releases, newest first."""
    system = system_service.get_visible_or_raise(session, principal=principal, system_id=system_id)
    stmt = select(Release).where(Release.system_id == system.id)
    rows, total = fetch_page(session, stmt, model=Release, order=Release.created_at.desc(), paging=paging)
    items = [ReleaseRead.model_validate(r) for r in rows]
    return Page[ReleaseRead](items=items, total=total, page=paging.page, per_page=paging.per_page)


@router.post("/systems/{system_id}/releases", status_code=status.HTTP_201_CREATED)
def create_release(
    system_id: str,
    body: ReleaseCreate,
    settings: SettingsDep,
    response: Response,
    principal: Cutter,
    session: SessionDep,
    audit: AuditDep,
) -> ReleaseRead:
    """Cut a release from a commit and image references (digests resolved from the registry when possible)."""
    system = system_service.get_visible_or_raise(session, principal=principal, system_id=system_id)
    row = releases.create_release(
        session,
        settings=settings,
        system=system,
        version=body.version,
        source_commit=body.source_commit,
        images=releases.parse_images(body.images),
        actor_id=principal.user_id,
        actor=principal.username,
        notes=body.notes,
        ctx=audit,
    )
    response.headers["Location"] = f"/api/v1/releases/{row.id}"
    return ReleaseRead.model_validate(row)


@router.get("/releases/{release_id}")
def get_release(release_id: str, principal: Reader, session: SessionDep) -> ReleaseRead:
    """One release: images with digests, chart version, values and their hash."""
    return ReleaseRead.model_validate(visible_release(session, principal=principal, release_id=release_id))
