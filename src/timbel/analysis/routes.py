"""Analyses API: start a background analysis, read its status and report, follow it live, register it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status
from starlette.responses import StreamingResponse

from timbel.analysis import events, register, service
from timbel.analysis.api_schemas import (
    AnalysisCreate,
    AnalysisRead,
    AnalysisSummary,
    RegisterRequest,
    RegisterResult,
)
from timbel.analysis.models import AnalysisState
from timbel.auth.deps import require
from timbel.auth.permissions import Permission
from timbel.auth.principal import Principal
from timbel.core.deps import AuditDep, SessionDep, SettingsDep
from timbel.core.pagination import Page, PageDep

router = APIRouter(prefix="/api/v1/analyses", tags=["analysis"])
Reader = Annotated[Principal, Depends(require(Permission.catalog_read))]
Runner = Annotated[Principal, Depends(require(Permission.analysis_run))]


@router.post("", status_code=status.HTTP_202_ACCEPTED)
def start_analysis(
    body: AnalysisCreate,
    request: Request,
    response: Response,
    principal: Runner,
    session: SessionDep,
    settings: SettingsDep,
    audit: AuditDep,
) -> AnalysisSummary:
    """Queue an analysis of a repository URL, a system's repository or (admins) a server path."""
    analysis = service.start(
        session,
        principal=principal,
        settings=settings,
        ctx=audit,
        enqueue=request.app.state.jobs.enqueue,
        url=body.url,
        path=body.path,
        ref=body.ref,
        system_id=body.system_id,
    )
    response.headers["Location"] = f"/api/v1/analyses/{analysis.id}"
    return AnalysisSummary.of(analysis)


@router.get("")
def list_analyses(
    principal: Reader,
    session: SessionDep,
    paging: PageDep,
    system_id: Annotated[str | None, Query(max_length=36)] = None,
    state: AnalysisState | None = None,
) -> Page[AnalysisSummary]:
    """List visible analyses, newest first (filters: system_id, state)."""
    rows, total = service.list_analyses(
        session, principal=principal, paging=paging, system_id=system_id, state=state.value if state else None
    )
    return Page[AnalysisSummary](
        items=[AnalysisSummary.of(r) for r in rows], total=total, page=paging.page, per_page=paging.per_page
    )


@router.get("/{analysis_id}")
def get_analysis(analysis_id: str, principal: Reader, session: SessionDep) -> AnalysisRead:
    """Read an analysis: state, progress, error, and the report once it succeeded."""
    return AnalysisRead.of(
        service.get_visible_or_raise(session, principal=principal, analysis_id=analysis_id)
    )


@router.get("/{analysis_id}/events", response_class=StreamingResponse)
def analysis_events(
    analysis_id: str, request: Request, principal: Reader, session: SessionDep
) -> StreamingResponse:
    """Follow an analysis live (Server-Sent Events): ``progress`` events, then one ``done`` event."""
    service.get_visible_or_raise(session, principal=principal, analysis_id=analysis_id)
    return events.response(request, analysis_id)


@router.post("/{analysis_id}/register")
def register_analysis(
    analysis_id: str, body: RegisterRequest, principal: Runner, session: SessionDep, audit: AuditDep
) -> RegisterResult:
    """Register the analysed repository as a system (or refresh its system) with its extracted knowledge."""
    analysis = service.get_visible_or_raise(session, principal=principal, analysis_id=analysis_id)
    system, counts = register.register(session, principal=principal, analysis=analysis, data=body, ctx=audit)
    return RegisterResult(system_id=system.id, system_slug=system.slug, **counts.as_dict())
