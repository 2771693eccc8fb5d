"""Page helpers shared by the component, document and design-asset pages: labels, owners, errors, versions."""

from __future__ import annotations

import math
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request

from timbel.auth.principal import Principal
from timbel.catalog import asset_service, files
from timbel.catalog import service as catalog_service
from timbel.catalog.models import Project, StoredFile, System
from timbel.catalog.versions import Asset
from timbel.core.errors import AppError
from timbel.core.pagination import PageParams
from timbel.web.forms import FormErrors, from_app_error, from_validation_error
from timbel.web.i18n import N_

PAGE_SIZE = 25
CHOICES_LIMIT = 500
RASTER_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})

# Service and schema error types of assets → message id (the rest falls back to the shared table).
MESSAGES = {
    "component.name_taken": N_("This system already has a component with that name."),
    "asset.owner": N_("Choose exactly one system or project."),
    "system.unknown": N_("Choose a system you may see."),
    "project.unknown": N_("Choose a project you may see."),
    "commit_sha.invalid": N_("Enter 7 to 64 hexadecimal characters."),
    "url.scheme": N_("Enter an address starting with http:// or https://."),
    "tag.invalid": N_("Tags have 1 to 50 characters without quotes or commas."),
    "tag.too_many": N_("Use at most 30 tags."),
    "design_asset.file_or_url": N_("Upload a file or enter a link."),
    "document.not_markdown": N_("Only markdown documents have text content."),
    "document.not_a_file": N_("A markdown document has no file; edit its content instead."),
    "file.too_large": N_("The file is larger than the upload limit of %(limit)s."),
    "file.type_not_allowed": N_("This kind of file is not accepted (detected type: %(type)s)."),
    "file.empty": N_("The file is empty."),
    "file.required": N_("Choose a file to upload."),
    "less_than_equal": N_("Enter a smaller number."),
    "float_parsing": N_("Enter a number."),
}
OWNER_FIELDS = {"system_id": "owner", "project_id": "owner"}
FIELD_LABELS = {
    "name": N_("Name"),
    "title": N_("Title"),
    "kind": N_("Kind"),
    "language": N_("Language"),
    "framework": N_("Framework"),
    "path": N_("Path"),
    "description": N_("Description"),
    "reuse_score": N_("Reuse score"),
    "commit_sha": N_("Commit"),
    "source": N_("Source"),
    "status": N_("Status"),
    "format": N_("Format"),
    "content": N_("Content"),
    "file": N_("File"),
    "url": N_("Link"),
    "tags": N_("Tags"),
}


def filesize(size: int | None) -> str:
    """Show a byte count the way people read it (B, KB, MB)."""
    if size is None:
        return ""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def form_errors(error: AppError | ValidationError, *, max_upload_bytes: int = 0) -> FormErrors:
    """Translate an asset service or schema error into form messages next to the right field."""
    items: list[dict[str, Any]]
    if isinstance(error, ValidationError):
        items = [{"loc": e["loc"], "type": e["type"], "msg": e["msg"]} for e in error.errors()]
    else:
        items = [dict(e) for e in error.errors]
    errors = FormErrors()
    unknown = False
    for item in items:
        kind = str(item.get("type", ""))
        parts = [p for p in item.get("loc", ()) if isinstance(p, str) and p != "body"]
        name = OWNER_FIELDS.get(parts[0], parts[0]) if parts else None
        if kind == "asset.owner":
            name = "owner"
        if kind in MESSAGES:
            errors.add(name, MESSAGES[kind], limit=filesize(max_upload_bytes), type=str(item.get("msg", "")))
        else:
            unknown = True
    if unknown or not errors:
        fallback = (
            from_validation_error(error) if isinstance(error, ValidationError) else from_app_error(error)
        )
        for field, messages in fallback.fields.items():
            for message in messages:
                errors.add(OWNER_FIELDS.get(field, field), message.text, **message.params)
        errors.general.extend(fallback.general)
        errors.detail = fallback.detail
    return errors


def uploaded(form: FormData, name: str = "file") -> UploadFile | None:
    """Return a chosen file from a multipart form (browsers send an empty part when none was chosen)."""
    value = form.get(name)
    return value if isinstance(value, UploadFile) and value.filename else None


def store_upload(
    request: Request, session: Session, principal: Principal, form: FormData
) -> StoredFile | None:
    """Check and keep the form's chosen file (None when no file was chosen)."""
    chosen = uploaded(form)
    if chosen is None:
        return None
    return files.receive(
        session,
        stream=chosen.file,
        filename=chosen.filename,
        declared_type=chosen.content_type,
        settings=request.app.state.settings.catalog,
        created_by=principal.user_id,
    )


def owner_choices(session: Session, principal: Principal) -> dict[str, list[Any]]:
    """Return the systems and projects the caller may attach assets to."""
    systems = session.execute(
        asset_service.scoped(select(System.id, System.name, System.slug), System.domain_id, principal)
        .order_by(System.name)
        .limit(CHOICES_LIMIT)
    ).all()
    projects = session.execute(
        asset_service.scoped(select(Project.id, Project.name), Project.domain_id, principal)
        .order_by(Project.name)
        .limit(CHOICES_LIMIT)
    ).all()
    return {"systems": list(systems), "projects": list(projects)}


def split_owner(value: str) -> dict[str, str | None]:
    """Turn an ``owner`` choice (``system:<id>`` or ``project:<id>``) into the two owner fields."""
    kind, _, owner_id = value.partition(":")
    return {
        "system_id": owner_id if kind == "system" and owner_id else None,
        "project_id": owner_id if kind == "project" and owner_id else None,
    }


def owner_value(system_id: str | None, project_id: str | None) -> str:
    """Return the ``owner`` choice of an asset's owner fields."""
    if system_id:
        return f"system:{system_id}"
    return f"project:{project_id}" if project_id else ""


def visible_domains(session: Session, principal: Principal) -> list[Any]:
    """Return the domains the caller may filter by."""
    domains, _ = catalog_service.list_domains(session, principal=principal, paging=PageParams(per_page=200))
    return domains


def paging(total: int, page: int) -> dict[str, int]:
    """Return the pager's numbers."""
    return {"total": total, "page": page, "pages": max(1, math.ceil(total / PAGE_SIZE))}


def versions_context(
    session: Session, *, asset: Asset, base_url: str, diff_from: int | None, diff_to: int | None
) -> dict[str, Any]:
    """Return the version list and, when two versions were chosen, their diff."""
    history = asset_service.version_list(session, asset=asset)
    newest = history[0].version if history else 1
    chosen_to = diff_to or newest
    chosen_from = diff_from or max(1, chosen_to - 1)
    diff = None
    if diff_from and diff_to:
        try:
            diff = asset_service.version_diff(
                session, asset=asset, from_version=diff_from, to_version=diff_to
            )
        except AppError:
            diff = None
    return {
        "versions": history,
        "diff": diff,
        "diff_from": chosen_from,
        "diff_to": chosen_to,
        "versions_url": base_url,
        "field_labels": FIELD_LABELS,
    }
