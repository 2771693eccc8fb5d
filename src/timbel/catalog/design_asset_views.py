"""Catalog pages: design assets (디자인 자산) — list with tag filter, detail with a raster-only preview,
versions and downloads, and create/edit forms with a file or a link."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import Response

from timbel.auth.deps import require_page
from timbel.auth.permissions import Permission
from timbel.auth.principal import Principal
from timbel.catalog import asset_pages, asset_service, design_asset_service, files, usage
from timbel.catalog.asset_schemas import DesignAssetCreate, DesignAssetUpdate
from timbel.catalog.design_asset_routes import split_tags
from timbel.catalog.models import DesignAsset
from timbel.core.deps import AuditDep, SessionDep
from timbel.core.errors import AppError
from timbel.core.pagination import PageParams
from timbel.web.forms import FormErrors, discard_changes, read_form, text
from timbel.web.i18n import N_
from timbel.web.redirects import redirect, register_flashes
from timbel.web.templating import render

BASE = "/catalog/design-assets"
router = APIRouter(prefix=BASE, tags=["web"], include_in_schema=False)
Reader = Annotated[Principal, Depends(require_page(Permission.catalog_read))]
Writer = Annotated[Principal, Depends(require_page(Permission.catalog_write))]
Form = Annotated[FormData, Depends(read_form)]
KIND_LABELS = {
    "image": N_("Image"),
    "figma-link": N_("Figma link"),
    "style": N_("Style guide"),
    "icon": N_("Icon"),
    "mockup": N_("Mockup"),
    "other": N_("Other"),
}
SORT_LABELS = {
    "-updated_at": N_("Recently changed"),
    "title": N_("Title"),
    "kind": N_("Kind"),
    "-created_at": N_("Newest"),
}
FIELDS = ("owner", "title", "kind", "description", "url", "tags")

register_flashes(
    {
        "design_asset_created": N_("The design asset was created."),
        "design_asset_saved": N_("The design asset was saved."),
        "design_asset_deleted": N_("The design asset was deleted."),
    }
)


def _labels() -> dict[str, Any]:
    return {
        "kind_labels": KIND_LABELS,
        "filesize": asset_pages.filesize,
        "raster_types": asset_pages.RASTER_TYPES,
    }


def _limit(request: Request) -> int:
    return int(request.app.state.settings.catalog.max_upload_bytes)


@router.get("", response_class=HTMLResponse)
def design_asset_list(
    request: Request,
    principal: Reader,
    session: SessionDep,
    q: Annotated[str, Query(max_length=200)] = "",
    domain_id: Annotated[str, Query(max_length=36)] = "",
    system_id: Annotated[str, Query(max_length=36)] = "",
    project_id: Annotated[str, Query(max_length=36)] = "",
    kind: Annotated[str, Query(max_length=32)] = "",
    tag: Annotated[str, Query(max_length=50)] = "",
    sort: Annotated[str, Query(max_length=32)] = "-updated_at",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """List visible design assets with search, kind and tag filters, sorting and paging."""
    filters = {
        "q": q,
        "domain_id": domain_id,
        "system_id": system_id,
        "project_id": project_id,
        "kind": kind if kind in KIND_LABELS else "",
        "tag": tag,
        "sort": sort if sort in SORT_LABELS else "-updated_at",
    }
    rows, total = design_asset_service.list_design_assets(
        session,
        principal=principal,
        paging=PageParams(page=page, per_page=asset_pages.PAGE_SIZE),
        **{k: v or None for k, v in filters.items() if k != "sort"},
        sort=filters["sort"],
    )
    context = {
        "rows": design_asset_service.read_many(session, assets=rows),
        **asset_pages.paging(total, page),
        "filters": filters,
        "sort_labels": SORT_LABELS,
        "domains": asset_pages.visible_domains(session, principal),
        "can_write": principal.has(Permission.catalog_write),
        **_labels(),
    }
    return render(request, "catalog/design_assets.html", context)


def _form_page(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    asset: DesignAsset | None,
    form: dict[str, Any],
    errors: FormErrors | None = None,
    status: int = 200,
) -> HTMLResponse:
    context = {
        "asset": asset,
        "form": form,
        "errors": errors or FormErrors(),
        "max_upload": asset_pages.filesize(_limit(request)),
        **asset_pages.owner_choices(session, principal),
        **_labels(),
    }
    return render(request, "catalog/design_assets_form.html", context, status_code=status)


def _submitted(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {name: text(form, name, limit=20_000) for name in FIELDS}
    return values


def _fields(values: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": values["title"],
        "kind": values["kind"],
        "description": values["description"],
        "url": values["url"],
        "tags": split_tags([values["tags"]]),
    }


@router.get("/new", response_class=HTMLResponse)
def design_asset_new(
    request: Request,
    principal: Writer,
    session: SessionDep,
    system_id: Annotated[str, Query(max_length=36)] = "",
    project_id: Annotated[str, Query(max_length=36)] = "",
) -> HTMLResponse:
    """Show the form for a new design asset."""
    blank = {name: "" for name in FIELDS}
    blank.update({"owner": asset_pages.owner_value(system_id, project_id), "kind": "image"})
    return _form_page(request, session, principal, asset=None, form=blank)


@router.post("/new")
def design_asset_create(
    request: Request, principal: Writer, session: SessionDep, audit: AuditDep, form: Form
) -> Response:
    """Create a design asset from the form (a file, a link, or both)."""
    submitted = _submitted(form)
    try:
        data = DesignAssetCreate.model_validate(
            {**_fields(submitted), **asset_pages.split_owner(submitted["owner"])}
        )
        stored = asset_pages.store_upload(request, session, principal, form)
        asset = design_asset_service.create(session, principal=principal, data=data, ctx=audit, stored=stored)
    except ValidationError as exc:
        errors, status = asset_pages.form_errors(exc), 422
    except AppError as exc:
        discard_changes(session, exc)
        errors, status = asset_pages.form_errors(exc, max_upload_bytes=_limit(request)), exc.status
    else:
        return redirect(request, f"{BASE}/{asset.id}", flash="design_asset_created")
    return _form_page(request, session, principal, asset=None, form=submitted, errors=errors, status=status)


@router.get("/{asset_id}", response_class=HTMLResponse)
def design_asset_detail(
    asset_id: str,
    request: Request,
    principal: Reader,
    session: SessionDep,
    diff_from: Annotated[int | None, Query(alias="from", ge=1, le=1_000_000)] = None,
    diff_to: Annotated[int | None, Query(alias="to", ge=1, le=1_000_000)] = None,
) -> HTMLResponse:
    """Show a design asset: fields, a preview for raster images, usage, versions and their diff."""
    asset = design_asset_service.get_visible_or_raise(session, principal=principal, design_asset_id=asset_id)
    if diff_from is None and diff_to is None:
        usage.bump(session, asset=asset, kind=usage.UsageKind.view)
    url = f"{BASE}/{asset.id}"
    context = {
        "item": design_asset_service.read(session, asset=asset),
        "can_write": principal.has(Permission.catalog_write),
        **asset_pages.versions_context(
            session, asset=asset, base_url=url, diff_from=diff_from, diff_to=diff_to
        ),
        **_labels(),
    }
    return render(request, "catalog/design_assets_detail.html", context)


@router.get("/{asset_id}/edit", response_class=HTMLResponse)
def design_asset_edit(
    asset_id: str, request: Request, principal: Writer, session: SessionDep
) -> HTMLResponse:
    """Show the edit form of a design asset."""
    asset = design_asset_service.get_visible_or_raise(session, principal=principal, design_asset_id=asset_id)
    values = {
        "owner": asset_pages.owner_value(asset.system_id, asset.project_id),
        "title": asset.title,
        "kind": asset.kind,
        "description": asset.description,
        "url": asset.url,
        "tags": ", ".join(asset.tags or []),
    }
    return _form_page(request, session, principal, asset=asset, form=values)


@router.post("/{asset_id}/edit")
def design_asset_update(
    asset_id: str, request: Request, principal: Writer, session: SessionDep, audit: AuditDep, form: Form
) -> Response:
    """Save changes; a chosen file replaces the asset's file (a new version)."""
    asset = design_asset_service.get_visible_or_raise(session, principal=principal, design_asset_id=asset_id)
    submitted = _submitted(form)
    try:
        data = DesignAssetUpdate.model_validate(_fields(submitted))
        stored = asset_pages.store_upload(request, session, principal, form)
        if stored is not None:
            asset_service.replace_file(session, asset=asset, stored=stored, ctx=audit)
        design_asset_service.update(session, asset=asset, data=data, ctx=audit)
    except ValidationError as exc:
        errors, status = asset_pages.form_errors(exc), 422
    except AppError as exc:
        discard_changes(session, exc)
        errors, status = asset_pages.form_errors(exc, max_upload_bytes=_limit(request)), exc.status
    else:
        return redirect(request, f"{BASE}/{asset_id}", flash="design_asset_saved")
    submitted["owner"] = asset_pages.owner_value(asset.system_id, asset.project_id)
    return _form_page(request, session, principal, asset=asset, form=submitted, errors=errors, status=status)


@router.post("/{asset_id}/delete")
def design_asset_delete(
    asset_id: str, request: Request, principal: Writer, session: SessionDep, audit: AuditDep
) -> Response:
    """Delete a design asset."""
    asset = design_asset_service.get_visible_or_raise(session, principal=principal, design_asset_id=asset_id)
    asset_service.delete(session, asset=asset, ctx=audit)
    return redirect(request, BASE, flash="design_asset_deleted")


@router.get("/{asset_id}/download")
def design_asset_download(
    asset_id: str,
    principal: Reader,
    session: SessionDep,
    preview: Annotated[bool, Query()] = False,
) -> Response:
    """Download a design asset's file as an attachment; the page's own image preview is not a download."""
    asset = design_asset_service.get_visible_or_raise(session, principal=principal, design_asset_id=asset_id)
    stored, data = asset_service.download(session, asset=asset, count=not preview)
    return files.download_response(stored, data)
