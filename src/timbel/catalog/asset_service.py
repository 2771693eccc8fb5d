"""Rules shared by components, documents and design assets: owners, scoping, references, versions, usage.

Every asset row carries the ``domain_id`` of its system or project, so visibility is one
``domain_id IN (...)`` filter; an invisible asset or owner answers 404 like a missing one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from timbel.audit import service as audit_service
from timbel.audit.service import AuditContext
from timbel.auth.principal import Principal
from timbel.catalog import files, usage, versions
from timbel.catalog import service as catalog_service
from timbel.catalog.asset_schemas import (
    FieldChange,
    PopularItem,
    ProjectRef,
    SystemRef,
    UsageRead,
    VersionDiff,
    VersionRead,
    VersionSummary,
)
from timbel.catalog.models import DesignAsset, Document, Domain, Project, StoredFile, System
from timbel.catalog.schemas import DomainRef
from timbel.catalog.versions import Asset
from timbel.core.errors import NotFound, ValidationFailed

A = TypeVar("A", bound=Asset)
S = TypeVar("S", bound=Select[*tuple[Any, ...]])
M = TypeVar("M", bound=BaseModel)


def validated(model: type[M], data: dict[str, Any]) -> M:
    """Build a schema from form fields, reporting problems like the JSON API does (422)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(
            "The request has invalid fields.",
            errors=[{"loc": ["body", *e["loc"]], "type": e["type"], "msg": e["msg"]} for e in exc.errors()],
        ) from exc


def may_see(principal: Principal, domain_id: str) -> bool:
    """Tell whether the caller may see things of a domain."""
    return catalog_service.sees_all(principal) or domain_id in principal.domain_ids


def scoped(stmt: S, domain_column: Any, principal: Principal) -> S:
    """Limit a query to the caller's domains (no limit for callers who see all)."""
    if catalog_service.sees_all(principal):
        return stmt
    return stmt.where(domain_column.in_(principal.domain_ids))


def get_visible(session: Session, model: type[A], *, principal: Principal, asset_id: str, label: str) -> A:
    """Return an asset the caller may see, or raise NotFound naming ``label``."""
    asset = session.get(model, asset_id)
    if asset is None or not may_see(principal, asset.domain_id):
        raise NotFound(f"No such {label}.")
    return asset


def _missing(field: str, label: str) -> NotFound:
    return NotFound(
        f"No such {label}.", errors=[{"loc": ["body", field], "type": f"{label}.unknown", "msg": "not found"}]
    )


def visible_system(session: Session, *, principal: Principal, system_id: str) -> System:
    """Return a system the caller may see, or raise NotFound."""
    system = session.get(System, system_id)
    if system is None or not may_see(principal, system.domain_id):
        raise _missing("system_id", "system")
    return system


def visible_project(session: Session, *, principal: Principal, project_id: str) -> Project:
    """Return a project the caller may see, or raise NotFound."""
    project = session.get(Project, project_id)
    if project is None or not may_see(principal, project.domain_id):
        raise _missing("project_id", "project")
    return project


def owner_domain(
    session: Session, *, principal: Principal, system_id: str | None, project_id: str | None
) -> tuple[str, str]:
    """Return the owner's domain id and a short label of the owner (system slug or project name)."""
    if system_id:
        system = visible_system(session, principal=principal, system_id=system_id)
        return system.domain_id, system.slug
    project = visible_project(session, principal=principal, project_id=project_id or "")
    return project.domain_id, project.name


def domain_refs(session: Session, ids: Iterable[str]) -> dict[str, DomainRef]:
    """Return domain references by id in one query."""
    wanted = set(ids)
    if not wanted:
        return {}
    rows = session.execute(select(Domain.id, Domain.code, Domain.name).where(Domain.id.in_(wanted)))
    return {r.id: DomainRef(id=r.id, code=r.code, name=r.name) for r in rows}


def system_refs(session: Session, ids: Iterable[str | None]) -> dict[str, SystemRef]:
    """Return system references by id in one query."""
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    rows = session.execute(select(System.id, System.slug, System.name).where(System.id.in_(wanted)))
    return {r.id: SystemRef(id=r.id, slug=r.slug, name=r.name) for r in rows}


def project_refs(session: Session, ids: Iterable[str | None]) -> dict[str, ProjectRef]:
    """Return project references by id in one query."""
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    rows = session.execute(select(Project.id, Project.name).where(Project.id.in_(wanted)))
    return {r.id: ProjectRef(id=r.id, name=r.name) for r in rows}


def usage_reads(session: Session, assets: Sequence[Asset]) -> dict[str, UsageRead]:
    """Return the usage counters of assets of one type by id (absent = zero)."""
    counts = usage.counts_for(session, assets=assets)
    return {
        asset_id: UsageRead(views=c.views, downloads=c.downloads, reuses=c.reuses)
        for asset_id, c in counts.items()
    }


def apply_changes(asset: Asset, fields: dict[str, Any]) -> dict[str, Any]:
    """Set the fields that differ and return ``{field: [old, new]}`` (long text only as "changed")."""
    changes: dict[str, Any] = {}
    for name, value in fields.items():
        old = getattr(asset, name)
        if old != value:
            long_text = isinstance(value, str) and (len(value) > 200 or "\n" in value)
            changes[name] = "changed" if long_text or isinstance(value, list) else [old, value]
            setattr(asset, name, value)
    return changes


def new_version(session: Session, *, asset: Asset, author_id: str | None) -> None:
    """Bump an asset's version and store the new state."""
    asset.version += 1
    versions.record(session, asset=asset, author_id=author_id)


def version_list(session: Session, *, asset: Asset) -> list[VersionSummary]:
    """Return an asset's versions, newest first, with their authors."""
    rows = versions.list_versions(session, asset=asset)
    authors = catalog_service.user_refs(session, user_ids={r.author_id for r in rows if r.author_id})
    return [
        VersionSummary(
            version=r.version,
            author=authors.get(r.author_id) if r.author_id else None,
            created_at=r.created_at,
        )
        for r in rows
    ]


def version_read(session: Session, *, asset: Asset, version: int) -> VersionRead:
    """Return one version with its snapshot (a file is shown by name, size and checksum)."""
    row = versions.get_version(session, asset=asset, version=version)
    snapshot = dict(row.snapshot)
    if "file_id" in snapshot:
        snapshot["file"] = _describe_files(session, [snapshot.get("file_id")]).get(snapshot.get("file_id"))
    return VersionRead(
        version=row.version,
        author=catalog_service.user_ref(session, user_id=row.author_id),
        created_at=row.created_at,
        snapshot=snapshot,
    )


def _describe_files(session: Session, ids: Iterable[Any]) -> dict[Any, str | None]:
    wanted = {i for i in ids if i}
    described: dict[Any, str | None] = {None: None}
    if wanted:
        for f in session.scalars(select(StoredFile).where(StoredFile.id.in_(wanted))):
            described[f.id] = f"{f.filename} ({f.size} bytes, sha256 {f.sha256[:12]})"
    return described


def version_diff(session: Session, *, asset: Asset, from_version: int, to_version: int) -> VersionDiff:
    """Compare two versions field by field; text fields carry unified diff lines."""
    old = versions.get_version(session, asset=asset, version=from_version).snapshot
    new = versions.get_version(session, asset=asset, version=to_version).snapshot
    changes: list[FieldChange] = []
    for change in versions.diff(old, new):
        if change.field == "file_id":
            names = _describe_files(session, [change.old, change.new])
            changes.append(
                FieldChange(field="file", old=names.get(change.old), new=names.get(change.new), lines=[])
            )
            continue
        changes.append(FieldChange(field=change.field, old=change.old, new=change.new, lines=change.lines))
    return VersionDiff(from_version=from_version, to_version=to_version, changes=changes)


def popular(session: Session, *, principal: Principal, by: usage.UsageKind, limit: int) -> list[PopularItem]:
    """Return the most viewed, downloaded or reused assets the caller may see."""
    return [
        PopularItem(
            kind=e.kind,
            id=e.id,
            title=e.title,
            usage=UsageRead(views=e.counts.views, downloads=e.counts.downloads, reuses=e.counts.reuses),
        )
        for e in usage.popular(session, principal=principal, by=by, limit=limit)
    ]


def _label(asset: Asset) -> tuple[str, str, str]:
    """The asset's audit kind, its words for summaries and its display name."""
    kind = versions.kind_of(asset)
    name = getattr(asset, "title", None) or getattr(asset, "name", "")
    return kind, kind.replace("_", " "), str(name)


def replace_file(
    session: Session, *, asset: Document | DesignAsset, stored: StoredFile, ctx: AuditContext
) -> None:
    """Attach a new file to a document or design asset as a new version."""
    kind, words, name = _label(asset)
    old = asset.file_id
    asset.file_id = stored.id
    new_version(session, asset=asset, author_id=ctx.actor_id)
    audit_service.record(
        session,
        ctx=ctx,
        action=f"{kind}.file_replace",
        target_type=kind,
        target_id=asset.id,
        summary=f"new file {stored.filename} for {words} {name}",
        changes={"file_id": [old, stored.id], "sha256": stored.sha256, "size": stored.size},
    )


def delete(session: Session, *, asset: Asset, ctx: AuditContext) -> None:
    """Delete an asset with its versions and counters (stored file bytes stay for other users)."""
    kind, words, name = _label(asset)
    asset_id = asset.id
    session.delete(asset)
    session.flush()
    audit_service.record(
        session,
        ctx=ctx,
        action=f"{kind}.delete",
        target_type=kind,
        target_id=asset_id,
        summary=f"deleted {words} {name}",
    )


def download(
    session: Session, *, asset: Document | DesignAsset, count: bool = True
) -> tuple[StoredFile, bytes]:
    """Return an asset's file, counting the download unless it is only a preview."""
    stored, data = files.load(session, file_id=asset.file_id)
    if count:
        usage.bump(session, asset=asset, kind=usage.UsageKind.download)
    return stored, data


def owner_fields(session: Session, *, assets: Sequence[Document | DesignAsset]) -> dict[str, dict[str, Any]]:
    """Return, per asset id, the references a document or design asset read shows, in one query per kind."""
    systems = system_refs(session, (a.system_id for a in assets))
    projects = project_refs(session, (a.project_id for a in assets))
    domains = domain_refs(session, (a.domain_id for a in assets))
    stored = files.read_many(session, file_ids=(a.file_id for a in assets))
    counts = usage_reads(session, assets)
    authors = catalog_service.user_refs(session, user_ids={a.created_by for a in assets if a.created_by})
    return {
        a.id: {
            "domain": domains[a.domain_id],
            "system": systems.get(a.system_id) if a.system_id else None,
            "project": projects.get(a.project_id) if a.project_id else None,
            "file": stored.get(a.file_id) if a.file_id else None,
            "usage": counts.get(a.id, UsageRead()),
            "created_by": authors.get(a.created_by) if a.created_by else None,
        }
        for a in assets
    }
