"""Pipeline pages: ``/pipelines`` (each system's pipeline, last run, duration trend, run button), a run's page
(header, stage graph, live log over SSE, cancel/retry, test results, image) and ``/pipelines/history``.

Reading needs ``pipelines:read``; starting, cancelling and retrying ``pipelines:run``. Everything is scoped to
the caller's domains through the run's system (others answer 404), exactly as the runs API is.
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import FormData
from starlette.responses import Response, StreamingResponse

from timbel.audit import service as audit_service
from timbel.auth.deps import require_page
from timbel.auth.permissions import Permission
from timbel.auth.principal import Principal
from timbel.catalog import system_service
from timbel.catalog.models import System
from timbel.core.db import session_scope
from timbel.core.deps import AuditDep, SessionDep
from timbel.core.errors import AppError
from timbel.core.pagination import PageParams
from timbel.pipelines import log_routes, logs, pipeline_service, run_service
from timbel.pipelines.run_pages import (
    RUN_STATES,
    TRIGGERS,
    labels,
    log_html,
    log_tail,
    pipeline_rows,
    recent_runs,
    run_context,
    seconds_between,
    systems_with_pipelines,
)
from timbel.pipelines.run_routes import visible_pipeline
from timbel.web.forms import discard_changes, read_form, text
from timbel.web.i18n import N_
from timbel.web.redirects import redirect, register_flashes
from timbel.web.templating import render

router = APIRouter(tags=["web"], include_in_schema=False)
Reader = Annotated[Principal, Depends(require_page(Permission.pipelines_read))]
Runner = Annotated[Principal, Depends(require_page(Permission.pipelines_run))]
Form = Annotated[FormData, Depends(read_form)]
Timing = Annotated[log_routes.StreamTiming, Depends(log_routes.stream_timing)]
PAGE_SIZE = 25
RECENT = 5
register_flashes(
    {
        "pipeline_run_started": N_("The run was queued."),
        "pipeline_run_cancelled": N_("The run was cancelled."),
        "pipeline_run_stopping": N_("The run was asked to stop."),
        "pipeline_run_retried": N_("The run was started again."),
        "pipeline_run_refused": N_("The run has already finished; nothing was changed."),
    }
)


# ---- the pipeline list -------------------------------------------------------------------------------


@router.get("/pipelines", response_class=HTMLResponse)
def pipeline_list(
    request: Request,
    principal: Reader,
    session: SessionDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """List the pipelines of visible systems: engine, last run, duration trend, and a run button."""
    rows, total = pipeline_rows(
        session, principal=principal, paging=PageParams(page=page, per_page=PAGE_SIZE)
    )
    context = {
        "rows": rows,
        "page": page,
        "pages": max(1, math.ceil(total / PAGE_SIZE)),
        "can_run": principal.has(Permission.pipelines_run),
        **labels(),
    }
    return render(request, "pipelines/list.html", context)


@router.post("/pipelines/{pipeline_id}/runs")
def pipeline_start(
    pipeline_id: str, request: Request, principal: Runner, session: SessionDep, audit: AuditDep, form: Form
) -> Response:
    """Queue a manual run (default ref: the system's default branch) and open its page."""
    pipeline = visible_pipeline(session, principal=principal, pipeline_id=pipeline_id)
    system = session.get(System, pipeline.system_id)
    ref = text(form, "ref", limit=255) or (system.default_branch if system else "") or "main"
    run = run_service.start_run(
        session,
        pipeline=pipeline,
        trigger="manual",
        actor=principal.username,
        actor_id=principal.user_id,
        ref=ref,
        enqueue=request.app.state.jobs.enqueue,
    )
    audit_service.record(
        session,
        ctx=audit,
        action="pipeline_run.start",
        target_type="pipeline_run",
        target_id=run.id,
        summary=f"Started run #{run.number} of {system.slug if system else pipeline.system_id} at {ref}",
        changes={"pipeline_id": pipeline.id, "ref": ref, "parameters": []},
    )
    return redirect(request, f"/pipelines/runs/{run.id}", flash="pipeline_run_started")


# ---- a run's page ------------------------------------------------------------------------------------


@router.get("/pipelines/runs/{run_id}", response_class=HTMLResponse)
def run_page(run_id: str, request: Request, principal: Reader, session: SessionDep) -> HTMLResponse:
    """A run: header, stage graph, the log (followed live while it runs), tests, image, actions."""
    run = run_service.get_visible_or_raise(session, principal=principal, run_id=run_id)
    tail, offset, cut = log_tail(session, run_id=run.id)
    context = run_context(session, principal=principal, run=run)
    context.update({"log": tail, "log_offset": offset, "log_cut": cut})
    return render(request, "pipelines/run.html", context)


@router.get("/pipelines/runs/{run_id}/status", response_class=HTMLResponse)
def run_status(run_id: str, request: Request, principal: Reader, session: SessionDep) -> HTMLResponse:
    """The run page's changing part (header, stages, tests, actions); polled by HTMX while the run is live."""
    run = run_service.get_visible_or_raise(session, principal=principal, run_id=run_id)
    return render(request, "pipelines/_run_status.html", run_context(session, principal=principal, run=run))


def html_frames(frames: AsyncIterator[str]) -> AsyncIterator[str]:
    """Turn the log stream's JSON frames into HTML fragments for HTMX (``log``) and a bare ``end``."""

    async def convert() -> AsyncIterator[str]:
        async for frame in frames:
            fields = dict(
                line.split(": ", 1)
                for line in frame.strip("\n").split("\n")
                if ": " in line and line[0] != ":"
            )
            event = fields.get("event")
            if event == "log":
                body = log_html(json.loads(fields["data"])["text"])
                data = "".join(f"data: {line}\n" for line in body.split("\n"))
                yield f"id: {fields['id']}\nevent: log\n{data}\n"
            elif event == "end":
                state = str(json.loads(fields["data"]).get("state", ""))
                yield f"id: {fields['id']}\nevent: end\ndata: {escape(state)}\n\n"
            else:
                yield frame

    return convert()


@router.get("/pipelines/runs/{run_id}/log/stream", response_class=StreamingResponse)
def run_log_stream(
    run_id: str,
    request: Request,
    principal: Reader,
    session: SessionDep,
    timing: Timing,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> StreamingResponse:
    """The run page's live log: new lines as HTML over Server-Sent Events, resuming from ``Last-Event-ID``."""
    run = run_service.get_visible_or_raise(session, principal=principal, run_id=run_id)
    resume = request.headers.get("last-event-id", "").strip()
    start = int(resume) if resume.isdigit() and len(resume) < 20 else offset
    frames = log_routes.log_events(request, run.id, offset=start, timing=timing)
    return StreamingResponse(
        html_frames(frames),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def _download(factory: sessionmaker[Session], run_id: str) -> Iterator[bytes]:
    with session_scope(factory) as session:
        for chunk in logs.iter_log(session, run_id=run_id):
            yield chunk.encode()


@router.get("/pipelines/runs/{run_id}/log.txt", response_class=StreamingResponse)
def run_log_download(
    run_id: str, request: Request, principal: Reader, session: SessionDep
) -> StreamingResponse:
    """Download a run's whole log as UTF-8 text."""
    run = run_service.get_visible_or_raise(session, principal=principal, run_id=run_id)
    return StreamingResponse(
        _download(request.app.state.session_factory, run.id),
        media_type="text/plain; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="run-{run.number}-{run.id[:8]}.log"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/pipelines/runs/{run_id}/cancel")
def run_cancel(
    run_id: str, request: Request, principal: Runner, session: SessionDep, audit: AuditDep
) -> Response:
    """Cancel a queued run, or ask a running one to stop."""
    run = run_service.get_visible_or_raise(session, principal=principal, run_id=run_id)
    try:
        now = run_service.cancel_run(session, run=run, ctx=audit)
    except AppError as exc:
        discard_changes(session, exc)
        return redirect(request, f"/pipelines/runs/{run_id}", flash="pipeline_run_refused")
    flash = "pipeline_run_cancelled" if now else "pipeline_run_stopping"
    return redirect(request, f"/pipelines/runs/{run_id}", flash=flash)


@router.post("/pipelines/runs/{run_id}/retry")
def run_retry(
    run_id: str, request: Request, principal: Runner, session: SessionDep, audit: AuditDep
) -> Response:
    """Run a finished run again (same ref and commit) and open the new run."""
    run = run_service.get_visible_or_raise(session, principal=principal, run_id=run_id)
    try:
        new = run_service.retry_run(session, run=run, ctx=audit, enqueue=request.app.state.jobs.enqueue)
    except AppError as exc:
        discard_changes(session, exc)
        return redirect(request, f"/pipelines/runs/{run_id}", flash="pipeline_run_refused")
    return redirect(request, f"/pipelines/runs/{new.id}", flash="pipeline_run_retried")


# ---- history and the system page's card --------------------------------------------------------------


@router.get("/pipelines/history", response_class=HTMLResponse)
def run_history(
    request: Request,
    principal: Reader,
    session: SessionDep,
    system_id: Annotated[str, Query(max_length=36)] = "",
    state: Annotated[str, Query(max_length=16)] = "",
    trigger: Annotated[str, Query(max_length=16)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """Every visible run, newest first, filtered by system, state and trigger."""
    filters = {
        "system_id": system_id,
        "state": state if state in RUN_STATES else "",
        "trigger": trigger if trigger in TRIGGERS else "",
    }
    runs, total = run_service.list_runs(
        session,
        principal=principal,
        paging=PageParams(page=page, per_page=PAGE_SIZE),
        system_id=filters["system_id"] or None,
        state=filters["state"] or None,
        trigger=filters["trigger"] or None,
    )
    systems = systems_with_pipelines(session, principal)
    names = dict(systems)
    missing = {r.system_id for r in runs} - names.keys()
    if missing:
        names.update(
            dict(session.execute(select(System.id, System.name).where(System.id.in_(missing))).all())
        )
    context = {
        "runs": [
            {
                "run": r,
                "system": names.get(r.system_id, ""),
                "duration": seconds_between(r.started_at, r.finished_at),
            }
            for r in runs
        ],
        "total": total,
        "page": page,
        "pages": max(1, math.ceil(total / PAGE_SIZE)),
        "filters": filters,
        "systems": systems,
        **labels(),
    }
    return render(request, "pipelines/history.html", context)


@router.get("/catalog/systems/{system_id}/pipeline-card", response_class=HTMLResponse)
def system_card(system_id: str, request: Request, principal: Reader, session: SessionDep) -> HTMLResponse:
    """The system page's pipeline card: the latest runs and a run button (loaded by HTMX)."""
    system = system_service.get_visible_or_raise(session, principal=principal, system_id=system_id)
    pipeline = pipeline_service.get_for_system(session, system_id=system.id)
    runs = recent_runs(session, [pipeline.id], RECENT).get(pipeline.id, []) if pipeline else []
    context = {
        "system": system,
        "pipeline": pipeline,
        "runs": [{"run": r, "duration": seconds_between(r.started_at, r.finished_at)} for r in runs],
        "can_run": principal.has(Permission.pipelines_run),
        **labels(),
    }
    return render(request, "pipelines/_run_recent.html", context)
