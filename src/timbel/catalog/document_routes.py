"""Catalog API: documents (문서) with markdown rendering, file upload and download, versions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Response, UploadFile, status
from fastapi.responses import HTMLResponse

from timbel.auth.deps import require
from timbel.auth.permissions import Permission
from timbel.auth.principal import Principal
from timbel.catalog import asset_service, document_service, files, markdown, usage
from timbel.catalog.asset_schemas import (
    DocumentCreate,
    DocumentFormat,
    DocumentKind,
    DocumentRead,
    DocumentStatus,
    DocumentUpdate,
    VersionDiff,
    VersionRead,
    VersionSummary,
)
from timbel.core.deps import AuditDep, SessionDep, SettingsDep
from timbel.core.pagination import Page, PageDep

router = APIRouter(prefix="/api/v1/documents", tags=["catalog"])
Reader = Annotated[Principal, Depends(require(Permission.catalog_read))]
Writer = Annotated[Principal, Depends(require(Permission.catalog_write))]
Id = Annotated[str, Query(max_length=36)]
FormId = Annotated[str | None, Form(max_length=36)]
Upload = Annotated[UploadFile, File(description="The file; its type is sniffed from the content.")]


@router.get("")
def list_documents(
    principal: Reader,
    session: SessionDep,
    paging: PageDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    domain_id: Id | None = None,
    system_id: Id | None = None,
    project_id: Id | None = None,
    kind: DocumentKind | None = None,
    status: DocumentStatus | None = None,
    format: DocumentFormat | None = None,
    sort: Annotated[str, Query(max_length=32)] = "title",
) -> Page[DocumentRead]:
    """List visible documents (filters: q, domain_id, system_id, project_id, kind, status, format)."""
    rows, total = document_service.list_documents(
        session,
        principal=principal,
        paging=paging,
        q=q,
        domain_id=domain_id,
        system_id=system_id,
        project_id=project_id,
        kind=kind.value if kind else None,
        status=status.value if status else None,
        format=format.value if format else None,
        sort=sort,
    )
    return Page[DocumentRead](
        items=document_service.read_many(session, documents=rows),
        total=total,
        page=paging.page,
        per_page=paging.per_page,
    )


@router.post("", status_code=status.HTTP_201_CREATED)
def create_document(
    body: DocumentCreate, principal: Writer, session: SessionDep, audit: AuditDep
) -> DocumentRead:
    """Create a markdown document of a visible system or project."""
    document = document_service.create(session, principal=principal, data=body, ctx=audit)
    return document_service.read(session, document=document)


@router.post("/upload", status_code=status.HTTP_201_CREATED)
def upload_document(
    file: Upload,
    principal: Writer,
    session: SessionDep,
    audit: AuditDep,
    settings: SettingsDep,
    title: Annotated[str, Form(max_length=300)],
    kind: Annotated[str, Form(max_length=32)] = DocumentKind.other.value,
    doc_status: Annotated[str, Form(alias="status", max_length=16)] = DocumentStatus.draft.value,
    system_id: FormId = None,
    project_id: FormId = None,
) -> DocumentRead:
    """Upload a file document (multipart: fields plus ``file``); 413 past the limit, 415 for other types."""
    data = asset_service.validated(
        DocumentCreate,
        {
            "title": title,
            "kind": kind,
            "status": doc_status,
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
    document = document_service.create(session, principal=principal, data=data, ctx=audit, stored=stored)
    return document_service.read(session, document=document)


@router.get("/{document_id}")
def get_document(document_id: str, principal: Reader, session: SessionDep) -> DocumentRead:
    """Read one document (counts a view)."""
    document = document_service.get_visible_or_raise(session, principal=principal, document_id=document_id)
    usage.bump(session, asset=document, kind=usage.UsageKind.view)
    return document_service.read(session, document=document)


@router.patch("/{document_id}")
def update_document(
    document_id: str, body: DocumentUpdate, principal: Writer, session: SessionDep, audit: AuditDep
) -> DocumentRead:
    """Change a document's fields (markdown content only for markdown documents); a change is a version."""
    document = document_service.get_visible_or_raise(session, principal=principal, document_id=document_id)
    document_service.update(session, document=document, data=body, ctx=audit)
    return document_service.read(session, document=document)


@router.delete("/{document_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_document(document_id: str, principal: Writer, session: SessionDep, audit: AuditDep) -> Response:
    """Delete a document with its versions and usage counts."""
    document = document_service.get_visible_or_raise(session, principal=principal, document_id=document_id)
    asset_service.delete(session, asset=document, ctx=audit)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{document_id}/file")
def download_document(document_id: str, principal: Reader, session: SessionDep) -> Response:
    """Download a document's file as an attachment (counts a download)."""
    document = document_service.get_visible_or_raise(session, principal=principal, document_id=document_id)
    stored, data = asset_service.download(session, asset=document)
    return files.download_response(stored, data)


@router.put("/{document_id}/file")
def replace_document_file(
    document_id: str,
    file: Upload,
    principal: Writer,
    session: SessionDep,
    audit: AuditDep,
    settings: SettingsDep,
) -> DocumentRead:
    """Upload a new file for a file document (a new version)."""
    document = document_service.get_visible_or_raise(session, principal=principal, document_id=document_id)
    stored = files.receive(
        session,
        stream=file.file,
        filename=file.filename,
        declared_type=file.content_type,
        settings=settings.catalog,
        created_by=principal.user_id,
    )
    document_service.replace_file(session, document=document, stored=stored, ctx=audit)
    return document_service.read(session, document=document)


@router.get("/{document_id}/html", response_class=HTMLResponse)
def document_html(document_id: str, principal: Reader, session: SessionDep) -> HTMLResponse:
    """Return a markdown document rendered as sanitized HTML (empty for file documents)."""
    document = document_service.get_visible_or_raise(session, principal=principal, document_id=document_id)
    return HTMLResponse(
        str(markdown.render(document.content)),
        headers={
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; img-src http: https:; style-src 'unsafe-inline'",
        },
    )


@router.get("/{document_id}/versions")
def list_document_versions(document_id: str, principal: Reader, session: SessionDep) -> list[VersionSummary]:
    """List a document's versions, newest first."""
    document = document_service.get_visible_or_raise(session, principal=principal, document_id=document_id)
    return asset_service.version_list(session, asset=document)


@router.get("/{document_id}/versions/{version}")
def get_document_version(
    document_id: str, version: int, principal: Reader, session: SessionDep
) -> VersionRead:
    """Read one saved version of a document."""
    document = document_service.get_visible_or_raise(session, principal=principal, document_id=document_id)
    return asset_service.version_read(session, asset=document, version=version)


@router.get("/{document_id}/diff")
def diff_document(
    document_id: str,
    from_version: Annotated[int, Query(alias="from", ge=1)],
    to_version: Annotated[int, Query(alias="to", ge=1)],
    principal: Reader,
    session: SessionDep,
) -> VersionDiff:
    """Compare two versions of a document; the content gets unified diff lines."""
    document = document_service.get_visible_or_raise(session, principal=principal, document_id=document_id)
    return asset_service.version_diff(
        session, asset=document, from_version=from_version, to_version=to_version
    )
