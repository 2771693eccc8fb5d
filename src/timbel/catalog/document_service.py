"""Documents (문서) of systems and projects: markdown text or uploaded files, versioned, with usage counts.

Project documents uploaded as VoC, 요구사양서 or design are documents with a ``project_id`` and
kind ``voc``, ``requirement`` or ``design``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from timbel.audit import service as audit_service
from timbel.audit.service import AuditContext
from timbel.auth.principal import Principal
from timbel.catalog import asset_service, versions
from timbel.catalog.asset_schemas import (
    DocumentCreate,
    DocumentFormat,
    DocumentRead,
    DocumentUpdate,
)
from timbel.catalog.models import Document, StoredFile
from timbel.core.errors import ValidationFailed
from timbel.core.pagination import PageParams, fetch_page, sort_order, text_search

SORTS: dict[str, Any] = {
    "title": Document.title,
    "kind": Document.kind,
    "status": Document.status,
    "created_at": Document.created_at,
    "updated_at": Document.updated_at,
}


def get_visible_or_raise(session: Session, *, principal: Principal, document_id: str) -> Document:
    """Return a document the caller may see, or raise NotFound."""
    return asset_service.get_visible(
        session, Document, principal=principal, asset_id=document_id, label="document"
    )


def list_documents(
    session: Session,
    *,
    principal: Principal,
    paging: PageParams,
    q: str | None = None,
    domain_id: str | None = None,
    system_id: str | None = None,
    project_id: str | None = None,
    kind: str | None = None,
    status: str | None = None,
    format: str | None = None,
    sort: str = "title",
) -> tuple[list[Document], int]:
    """Return one page of visible documents, filtered and sorted (``-field`` for descending)."""
    order = sort_order(SORTS, sort)
    stmt = asset_service.scoped(select(Document), Document.domain_id, principal)
    if q:
        stmt = stmt.where(text_search(q, Document.title, Document.content))
    for column, value in (
        (Document.domain_id, domain_id),
        (Document.system_id, system_id),
        (Document.project_id, project_id),
        (Document.kind, kind),
        (Document.status, status),
        (Document.format, format),
    ):
        if value:
            stmt = stmt.where(column == value)
    return fetch_page(session, stmt, model=Document, order=order, paging=paging)


def _format_of(stored: StoredFile) -> str:
    return DocumentFormat.pdf.value if stored.content_type == "application/pdf" else DocumentFormat.file.value


def create(
    session: Session,
    *,
    principal: Principal,
    data: DocumentCreate,
    ctx: AuditContext,
    stored: StoredFile | None = None,
) -> Document:
    """Create a markdown document, or a file document when ``stored`` is given; store version 1."""
    domain_id, owner = asset_service.owner_domain(
        session, principal=principal, system_id=data.system_id, project_id=data.project_id
    )
    document = Document(
        domain_id=domain_id,
        system_id=data.system_id,
        project_id=data.project_id,
        title=data.title,
        kind=data.kind.value,
        status=data.status.value,
        format=_format_of(stored) if stored else DocumentFormat.markdown.value,
        content="" if stored else data.content,
        file_id=stored.id if stored else None,
        version=1,
        created_by=ctx.actor_id,
    )
    session.add(document)
    versions.record(session, asset=document, author_id=ctx.actor_id)
    audit_service.record(
        session,
        ctx=ctx,
        action="document.create",
        target_type="document",
        target_id=document.id,
        summary=f"created document {document.title} ({document.kind}) for {owner}",
        changes={"format": document.format, "file": stored.sha256 if stored else None},
    )
    return document


def update(session: Session, *, document: Document, data: DocumentUpdate, ctx: AuditContext) -> Document:
    """Apply changes; a real change becomes a new version. File documents take no markdown content."""
    fields = {k: v for k, v in data.model_dump(mode="json", exclude_unset=True).items() if v is not None}
    if "content" in fields and document.format != DocumentFormat.markdown.value:
        raise ValidationFailed(
            "Only markdown documents have text content; upload a new file instead.",
            errors=[{"loc": ["body", "content"], "type": "document.not_markdown", "msg": "file document"}],
        )
    changes = asset_service.apply_changes(document, fields)
    if changes:
        asset_service.new_version(session, asset=document, author_id=ctx.actor_id)
        audit_service.record(
            session,
            ctx=ctx,
            action="document.update",
            target_type="document",
            target_id=document.id,
            summary=f"updated document {document.title}: {', '.join(sorted(changes))}",
            changes=changes,
        )
    return document


def replace_file(session: Session, *, document: Document, stored: StoredFile, ctx: AuditContext) -> Document:
    """Attach a new file to a file document as a new version (its format follows the file)."""
    if document.format == DocumentFormat.markdown.value:
        raise ValidationFailed(
            "A markdown document has no file; edit its content instead.",
            errors=[{"loc": ["body", "file"], "type": "document.not_a_file", "msg": "markdown document"}],
        )
    document.format = _format_of(stored)
    asset_service.replace_file(session, asset=document, stored=stored, ctx=ctx)
    return document


def read(session: Session, *, document: Document) -> DocumentRead:
    """Build the API view of a document."""
    return read_many(session, documents=[document])[0]


def read_many(session: Session, *, documents: Sequence[Document]) -> list[DocumentRead]:
    """Build the API views of a page of documents with a fixed number of queries."""
    owners = asset_service.owner_fields(session, assets=documents)
    return [
        DocumentRead(
            **owners[d.id],
            id=d.id,
            title=d.title,
            kind=d.kind,
            format=d.format,
            status=d.status,
            content=d.content,
            source=d.source,
            commit_sha=d.commit_sha,
            version=d.version,
            created_at=d.created_at,
            updated_at=d.updated_at,
        )
        for d in documents
    ]
