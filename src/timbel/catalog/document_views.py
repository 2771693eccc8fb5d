"""Catalog pages: documents (문서) — list, detail with rendered markdown and versions, forms with preview,
downloads, and the project documents panel (VoC, 요구사양서, design)."""

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
from timbel.catalog import asset_pages, asset_service, document_service, files, markdown, usage
from timbel.catalog.asset_schemas import DocumentCreate, DocumentUpdate
from timbel.catalog.document_labels import (
    FORMAT_LABELS,
    KIND_LABELS,
    PROJECT_KINDS,
    SORT_LABELS,
    STATUS_LABELS,
)
from timbel.catalog.models import Document
from timbel.core.deps import AuditDep, SessionDep
from timbel.core.errors import AppError, ValidationFailed
from timbel.core.pagination import PageParams
from timbel.web.forms import FormErrors, discard_changes, read_form, text
from timbel.web.i18n import N_
from timbel.web.redirects import redirect, register_flashes
from timbel.web.templating import render

router = APIRouter(tags=["web"], include_in_schema=False)
Reader = Annotated[Principal, Depends(require_page(Permission.catalog_read))]
Writer = Annotated[Principal, Depends(require_page(Permission.catalog_write))]
Form = Annotated[FormData, Depends(read_form)]
BASE = "/catalog/documents"

register_flashes(
    {
        "document_created": N_("The document was created."),
        "document_saved": N_("The document was saved."),
        "document_deleted": N_("The document was deleted."),
        "project_document_uploaded": N_("The document was uploaded."),
    }
)


def _labels() -> dict[str, Any]:
    return {
        "kind_labels": KIND_LABELS,
        "status_labels": STATUS_LABELS,
        "format_labels": FORMAT_LABELS,
        "filesize": asset_pages.filesize,
    }


def _limit(request: Request) -> int:
    return int(request.app.state.settings.catalog.max_upload_bytes)


@router.get(BASE, response_class=HTMLResponse)
def document_list(
    request: Request,
    principal: Reader,
    session: SessionDep,
    q: Annotated[str, Query(max_length=200)] = "",
    domain_id: Annotated[str, Query(max_length=36)] = "",
    system_id: Annotated[str, Query(max_length=36)] = "",
    project_id: Annotated[str, Query(max_length=36)] = "",
    kind: Annotated[str, Query(max_length=32)] = "",
    status: Annotated[str, Query(max_length=16)] = "",
    format: Annotated[str, Query(max_length=16)] = "",
    sort: Annotated[str, Query(max_length=32)] = "-updated_at",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """List visible documents with search, filters, sorting and paging."""
    filters = {
        "q": q,
        "domain_id": domain_id,
        "system_id": system_id,
        "project_id": project_id,
        "kind": kind if kind in KIND_LABELS else "",
        "status": status if status in STATUS_LABELS else "",
        "format": format if format in FORMAT_LABELS else "",
        "sort": sort if sort in SORT_LABELS else "-updated_at",
    }
    rows, total = document_service.list_documents(
        session,
        principal=principal,
        paging=PageParams(page=page, per_page=asset_pages.PAGE_SIZE),
        **{k: v or None for k, v in filters.items() if k != "sort"},
        sort=filters["sort"],
    )
    context = {
        "rows": document_service.read_many(session, documents=rows),
        **asset_pages.paging(total, page),
        "filters": filters,
        "sort_labels": SORT_LABELS,
        "domains": asset_pages.visible_domains(session, principal),
        "can_write": principal.has(Permission.catalog_write),
        **_labels(),
    }
    return render(request, "catalog/documents.html", context)


def _form_page(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    document: Document | None,
    form: dict[str, Any],
    errors: FormErrors | None = None,
    status: int = 200,
) -> HTMLResponse:
    context = {
        "document": document,
        "form": form,
        "errors": errors or FormErrors(),
        "max_upload": asset_pages.filesize(_limit(request)),
        **asset_pages.owner_choices(session, principal),
        **_labels(),
    }
    return render(request, "catalog/documents_form.html", context, status_code=status)


def _submitted(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {
        name: text(form, name, limit=300) for name in ("owner", "title", "kind", "status")
    }
    raw = form.get("content")
    values["content"] = raw[:1_000_001] if isinstance(raw, str) else ""
    return values


@router.get(BASE + "/new", response_class=HTMLResponse)
def document_new(
    request: Request,
    principal: Writer,
    session: SessionDep,
    system_id: Annotated[str, Query(max_length=36)] = "",
    project_id: Annotated[str, Query(max_length=36)] = "",
) -> HTMLResponse:
    """Show the form for a new document (markdown text or a file)."""
    blank = {
        "owner": asset_pages.owner_value(system_id, project_id),
        "title": "",
        "kind": "technical",
        "status": "draft",
        "content": "",
    }
    return _form_page(request, session, principal, document=None, form=blank)


@router.post(BASE + "/new")
def document_create(
    request: Request, principal: Writer, session: SessionDep, audit: AuditDep, form: Form
) -> Response:
    """Create a document from the form: the chosen file, or else the markdown text."""
    submitted = _submitted(form)
    try:
        chosen = {k: v for k, v in submitted.items() if v or k in ("title", "content")}
        data = DocumentCreate.model_validate({**chosen, **asset_pages.split_owner(submitted["owner"])})
        stored = asset_pages.store_upload(request, session, principal, form)
        document = document_service.create(session, principal=principal, data=data, ctx=audit, stored=stored)
    except ValidationError as exc:
        errors, status = asset_pages.form_errors(exc), 422
    except AppError as exc:
        discard_changes(session, exc)
        errors, status = asset_pages.form_errors(exc, max_upload_bytes=_limit(request)), exc.status
    else:
        return redirect(request, f"{BASE}/{document.id}", flash="document_created")
    return _form_page(
        request, session, principal, document=None, form=submitted, errors=errors, status=status
    )


@router.post(BASE + "/preview", response_class=HTMLResponse)
def document_preview(request: Request, principal: Reader, form: Form) -> HTMLResponse:
    """Render markdown as the sanitized HTML the document page will show (for the form's preview)."""
    raw = form.get("content")
    content = raw[:1_000_000] if isinstance(raw, str) else ""
    return render(request, "catalog/documents_preview.html", {"html": markdown.render(content)})


@router.get(BASE + "/{document_id}", response_class=HTMLResponse)
def document_detail(
    document_id: str,
    request: Request,
    principal: Reader,
    session: SessionDep,
    diff_from: Annotated[int | None, Query(alias="from", ge=1, le=1_000_000)] = None,
    diff_to: Annotated[int | None, Query(alias="to", ge=1, le=1_000_000)] = None,
) -> HTMLResponse:
    """Show a document: fields, rendered markdown, download link, usage, versions and their diff."""
    document = document_service.get_visible_or_raise(session, principal=principal, document_id=document_id)
    if diff_from is None and diff_to is None:
        usage.bump(session, asset=document, kind=usage.UsageKind.view)
    url = f"{BASE}/{document.id}"
    context = {
        "item": document_service.read(session, document=document),
        "html": markdown.render(document.content) if document.format == "markdown" else None,
        "can_write": principal.has(Permission.catalog_write),
        **asset_pages.versions_context(
            session, asset=document, base_url=url, diff_from=diff_from, diff_to=diff_to
        ),
        **_labels(),
    }
    return render(request, "catalog/documents_detail.html", context)


@router.get(BASE + "/{document_id}/edit", response_class=HTMLResponse)
def document_edit(document_id: str, request: Request, principal: Writer, session: SessionDep) -> HTMLResponse:
    """Show the edit form of a document."""
    document = document_service.get_visible_or_raise(session, principal=principal, document_id=document_id)
    values = {
        "owner": asset_pages.owner_value(document.system_id, document.project_id),
        "title": document.title,
        "kind": document.kind,
        "status": document.status,
        "content": document.content,
    }
    return _form_page(request, session, principal, document=document, form=values)


@router.post(BASE + "/{document_id}/edit")
def document_update(
    document_id: str, request: Request, principal: Writer, session: SessionDep, audit: AuditDep, form: Form
) -> Response:
    """Save changes to a document; a chosen file replaces a file document's file (new version)."""
    document = document_service.get_visible_or_raise(session, principal=principal, document_id=document_id)
    submitted = _submitted(form)
    try:
        fields = {k: submitted[k] for k in ("title", "kind", "status")}
        if document.format == "markdown":
            fields["content"] = submitted["content"]
        data = DocumentUpdate.model_validate(fields)
        document_service.update(session, document=document, data=data, ctx=audit)
        stored = asset_pages.store_upload(request, session, principal, form)
        if stored is not None:
            document_service.replace_file(session, document=document, stored=stored, ctx=audit)
    except ValidationError as exc:
        errors, status = asset_pages.form_errors(exc), 422
    except AppError as exc:
        discard_changes(session, exc)
        errors, status = asset_pages.form_errors(exc, max_upload_bytes=_limit(request)), exc.status
    else:
        return redirect(request, f"{BASE}/{document_id}", flash="document_saved")
    submitted["owner"] = asset_pages.owner_value(document.system_id, document.project_id)
    return _form_page(
        request, session, principal, document=document, form=submitted, errors=errors, status=status
    )


@router.post(BASE + "/{document_id}/delete")
def document_delete(
    document_id: str, request: Request, principal: Writer, session: SessionDep, audit: AuditDep
) -> Response:
    """Delete a document."""
    document = document_service.get_visible_or_raise(session, principal=principal, document_id=document_id)
    asset_service.delete(session, asset=document, ctx=audit)
    return redirect(request, BASE, flash="document_deleted")


@router.get(BASE + "/{document_id}/download")
def document_download(document_id: str, principal: Reader, session: SessionDep) -> Response:
    """Download a document's file as an attachment (counts a download)."""
    document = document_service.get_visible_or_raise(session, principal=principal, document_id=document_id)
    stored, data = asset_service.download(session, asset=document)
    return files.download_response(stored, data)


# --- the project documents panel (loaded by HTMX into the project page) -------------------------------


def _panel_context(session: Session, principal: Principal, *, project_id: str) -> dict[str, Any]:
    project = asset_service.visible_project(session, principal=principal, project_id=project_id)
    rows, _ = document_service.list_documents(
        session,
        principal=principal,
        paging=PageParams(per_page=100),
        project_id=project.id,
        sort="-created_at",
    )
    return {
        "project": project,
        "documents": document_service.read_many(session, documents=rows),
        "can_write": principal.has(Permission.catalog_write),
        "project_kinds": PROJECT_KINDS,
        **_labels(),
    }


@router.get("/catalog/projects/{project_id}/documents-panel", response_class=HTMLResponse)
def project_documents_panel(
    project_id: str, request: Request, principal: Reader, session: SessionDep
) -> HTMLResponse:
    """Return the project's documents with an upload form for writers (an HTML fragment)."""
    context = _panel_context(session, principal, project_id=project_id)
    context.update(
        {
            "errors": FormErrors(),
            "form": {"kind": "voc", "title": ""},
            "max_upload": asset_pages.filesize(_limit(request)),
        }
    )
    return render(request, "catalog/_project_documents.html", context)


@router.post("/catalog/projects/{project_id}/documents")
def project_document_upload(
    project_id: str, request: Request, principal: Writer, session: SessionDep, audit: AuditDep, form: Form
) -> Response:
    """Upload a VoC, 요구사양서 or design document to a project, then go back to the project page."""
    project = asset_service.visible_project(session, principal=principal, project_id=project_id)
    submitted = {"kind": text(form, "kind"), "title": text(form, "title", limit=300)}
    chosen = asset_pages.uploaded(form)
    try:
        if submitted["kind"] not in PROJECT_KINDS:
            raise ValidationFailed(
                "Choose a kind.", errors=[{"loc": ["kind"], "type": "enum", "msg": "kind"}]
            )
        if chosen is None:
            raise ValidationFailed(
                "No file.", errors=[{"loc": ["file"], "type": "file.required", "msg": "file"}]
            )
        title = submitted["title"] or files.clean_filename(chosen.filename).rsplit(".", 1)[0] or "file"
        data = asset_service.validated(
            DocumentCreate, {"project_id": project.id, "title": title, "kind": submitted["kind"]}
        )
        stored = asset_pages.store_upload(request, session, principal, form)
        document_service.create(session, principal=principal, data=data, ctx=audit, stored=stored)
    except AppError as exc:
        discard_changes(session, exc)
        errors, status = asset_pages.form_errors(exc, max_upload_bytes=_limit(request)), exc.status
    else:
        return redirect(request, f"/catalog/projects/{project_id}", flash="project_document_uploaded")
    context = _panel_context(session, principal, project_id=project_id)
    context.update({"errors": errors, "form": submitted, "max_upload": asset_pages.filesize(_limit(request))})
    return render(request, "catalog/documents_project_upload.html", context, status_code=status)
