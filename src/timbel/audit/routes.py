"""Audit API: filter, page and export the trail (administrators)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from timbel.audit import service as audit_service
from timbel.audit.schemas import AuditEntryRead
from timbel.audit.service import AuditFilter
from timbel.auth.deps import require
from timbel.auth.permissions import Permission
from timbel.auth.principal import Principal
from timbel.core.db import utcnow
from timbel.core.deps import SessionDep
from timbel.core.pagination import Page, PageDep

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])
Auditor = Annotated[Principal, Depends(require(Permission.admin_audit))]


def audit_filter(
    actor: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    target_type: Annotated[str | None, Query(max_length=64)] = None,
    target_id: Annotated[str | None, Query(max_length=64)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> AuditFilter:
    """Read audit filters from the query string (times without a zone are UTC)."""
    return AuditFilter(
        actor=actor or None,
        action=action or None,
        target_type=target_type or None,
        target_id=target_id or None,
        since=since.replace(tzinfo=since.tzinfo or UTC) if since else None,
        until=until.replace(tzinfo=until.tzinfo or UTC) if until else None,
    )


FilterDep = Annotated[AuditFilter, Depends(audit_filter)]


@router.get("")
def list_audit_entries(
    _: Auditor, session: SessionDep, flt: FilterDep, paging: PageDep
) -> Page[AuditEntryRead]:
    """List audit entries, newest first."""
    rows, total = audit_service.list_entries(session, flt=flt, page=paging.page, per_page=paging.per_page)
    return Page[AuditEntryRead](
        items=[AuditEntryRead.model_validate(r) for r in rows],
        total=total,
        page=paging.page,
        per_page=paging.per_page,
    )


@router.get("/export.csv", response_class=StreamingResponse)
def export_audit_csv(request: Request, _: Auditor, flt: FilterDep) -> StreamingResponse:
    """Export the matching audit entries as CSV, streamed in batches."""
    name = f"timbel-audit-{utcnow():%Y%m%d-%H%M%S}.csv"
    return StreamingResponse(
        audit_service.stream_csv(request.app.state.session_factory, flt=flt),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )
