"""Catalog pages: the catalog dashboard, and Backstage catalog-info.yaml import and export."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from timbel.auth.deps import require_page
from timbel.auth.permissions import Permission
from timbel.auth.principal import Principal
from timbel.catalog import dashboard_service, interop_export, interop_service
from timbel.catalog.interop_routes import EXPORT_HEADERS, read_upload
from timbel.catalog.interop_schemas import ImportResult
from timbel.core.deps import AuditDep, SessionDep
from timbel.core.errors import PayloadTooLarge, ValidationFailed
from timbel.web import i18n
from timbel.web.forms import discard_changes, read_form
from timbel.web.i18n import N_, gettext
from timbel.web.templating import render

router = APIRouter(tags=["web"], include_in_schema=False)
Reader = Annotated[Principal, Depends(require_page(Permission.catalog_read))]
Writer = Annotated[Principal, Depends(require_page(Permission.catalog_write))]
KIND_LABELS = {
    "domain": N_("Customer domains"),
    "project": N_("Projects"),
    "system": N_("Systems"),
    "component": N_("Components"),
    "document": N_("Documents"),
    "design_asset": N_("Design assets"),
}
KIND_LABEL = {
    "domain": N_("Customer domain"),
    "project": N_("Project"),
    "system": N_("System"),
    "component": N_("Component"),
    "document": N_("Document"),
    "design_asset": N_("Design asset"),
}
STAGE_LABELS = {"development": N_("Development"), "staging": N_("Staging"), "production": N_("Production")}
LIST_PAGES = {
    "domain": "/catalog/domains",
    "project": "/catalog/projects",
    "system": "/catalog/systems",
    "component": "/catalog/components",
    "document": "/catalog/documents",
    "design_asset": "/catalog/design-assets",
}


def _chart_data(board: dashboard_service.Dashboard) -> dict[str, Any]:
    """Chart series with translated labels, for catalog-charts.js."""
    kinds = [k for k in KIND_LABELS if k != "domain"]
    return {
        "stages": [{"name": gettext(STAGE_LABELS[s]), "value": n} for s, n in board.stages.items()],
        "domains": {
            "names": [d.name for d in board.domains],
            "series": [
                {"name": gettext(KIND_LABELS[k]), "data": [d.counts[k] for d in board.domains]} for k in kinds
            ],
        },
    }


@router.get("/catalog", response_class=HTMLResponse)
def catalog_dashboard(request: Request, principal: Reader, session: SessionDep) -> HTMLResponse:
    """Show what the catalog holds for the caller: counts, stages, domains, recent changes, popular assets."""
    board = dashboard_service.build(session, principal=principal)
    with i18n.use_locale(i18n.locale_for(request)):
        charts = _chart_data(board)
    context = {
        "board": board,
        "kind_labels": KIND_LABELS,
        "kind_label": KIND_LABEL,
        "list_pages": LIST_PAGES,
        "charts": charts,
        "asset_href": dashboard_service.href,
        "is_admin": principal.has(Permission.admin_settings),
        "can_write": principal.has(Permission.catalog_write),
    }
    return render(request, "catalog/dashboard.html", context)


@dataclass(frozen=True)
class Upload:
    """The file a page form sent, or why there is none (an untranslated message id)."""

    data: bytes | None
    problem: str | None = None


async def uploaded_file(request: Request) -> Upload:
    """Read the form's ``file`` within the upload limit."""
    form = await read_form(request)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return Upload(None, N_("Choose a catalog-info.yaml file."))
    try:
        return Upload(await read_upload(upload, request.app.state.settings.catalog.max_upload_bytes))
    except PayloadTooLarge:
        return Upload(None, N_("The file is larger than the upload limit."))


def _import_page(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    result: ImportResult | None = None,
    problems: Sequence[Mapping[str, Any]] = (),
    message: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    context = {
        "result": result,
        "problems": problems,
        "message": message,
        "can_write": principal.has(Permission.catalog_write),
        "domains": interop_export.visible_domains(session, principal=principal, domain=None),
        "limit_kib": request.app.state.settings.catalog.max_upload_bytes // 1024,
    }
    return render(request, "catalog/import.html", context, status_code=status)


@router.get("/catalog/import", response_class=HTMLResponse)
def import_form(request: Request, principal: Reader, session: SessionDep) -> HTMLResponse:
    """Show the Backstage import form (for catalog writers) and the export links."""
    return _import_page(request, session, principal)


@router.post("/catalog/import", response_class=HTMLResponse)
def import_upload(
    request: Request,
    principal: Writer,
    session: SessionDep,
    audit: AuditDep,
    upload: Annotated[Upload, Depends(uploaded_file)],
) -> HTMLResponse:
    """Import an uploaded catalog-info.yaml and show what it did, or every problem it has."""
    if upload.data is None:
        return _import_page(request, session, principal, message=upload.problem, status=422)
    try:
        result = interop_service.import_catalog(session, principal=principal, data=upload.data, ctx=audit)
    except ValidationFailed as exc:
        discard_changes(session, exc)
        return _import_page(request, session, principal, problems=exc.errors, status=422)
    return _import_page(request, session, principal, result=result)


@router.get("/catalog/export")
def export_download(
    principal: Reader,
    session: SessionDep,
    domain: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """Download the visible catalog, or one domain, as catalog-info.yaml."""
    text = interop_export.export_catalog(session, principal=principal, domain=domain or None)
    return Response(text, media_type="application/yaml; charset=utf-8", headers=EXPORT_HEADERS)
