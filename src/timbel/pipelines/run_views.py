"""Pipeline pages: ``/pipelines`` (each system's pipeline, last run, duration trend, run button), a run's page
(header, stage graph, live log over SSE, cancel/retry, test results, image) and ``/pipelines/history``.

Reading needs ``pipelines:read``; starting, cancelling and retrying ``pipelines:run``. Everything is scoped to
the caller's domains through the run's system (others answer 404), exactly as the runs API is.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup, escape
from sqlalchemy import func, select
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
from timbel.pipelines import ansi, log_routes, logs, pipeline_service, run_service
from timbel.pipelines.engine_base import RunState, StageState
from timbel.pipelines.run_models import TERMINAL_RUN_STATES, Pipeline, PipelineRun
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
TREND = 10
RECENT = 5
TAIL_BYTES = 64 * 1024
_STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")

RUN_STATES = {
    "queued": N_("Queued"),
    "running": N_("Running"),
    "succeeded": N_("Succeeded"),
    "failed": N_("Failed"),
    "cancelled": N_("Cancelled"),
    "timed_out": N_("Timed out"),
}
STAGE_STATES = {
    "pending": N_("Pending"),
    "running": N_("Running"),
    "succeeded": N_("Succeeded"),
    "failed": N_("Failed"),
    "skipped": N_("Skipped"),
    "cancelled": N_("Cancelled"),
}
STATE_BADGES = {
    "queued": "bg-secondary-lt",
    "pending": "bg-secondary-lt",
    "running": "bg-blue-lt",
    "succeeded": "bg-green-lt",
    "failed": "bg-red-lt",
    "timed_out": "bg-red-lt",
    "cancelled": "bg-orange-lt",
    "skipped": "bg-secondary-lt",
}
TRIGGERS = {
    "manual": N_("Manually"),
    "push": N_("Push"),
    "schedule": N_("Schedule"),
    "promotion": N_("Promotion"),
    "retry": N_("Retry"),
}
ENGINES = {"local": N_("Local runner"), "jenkins": "Jenkins"}
RETRYABLE = frozenset({RunState.failed.value, RunState.timed_out.value, RunState.cancelled.value})
register_flashes(
    {
        "pipeline_run_started": N_("The run was queued."),
        "pipeline_run_cancelled": N_("The run was cancelled."),
        "pipeline_run_stopping": N_("The run was asked to stop."),
        "pipeline_run_retried": N_("The run was started again."),
        "pipeline_run_refused": N_("The run has already finished; nothing was changed."),
    }
)


def labels() -> dict[str, Any]:
    """Untranslated labels the pipeline templates translate."""
    return {
        "run_states": RUN_STATES,
        "stage_states": STAGE_STATES,
        "badges": STATE_BADGES,
        "triggers": TRIGGERS,
        "engines": ENGINES,
    }


def seconds_between(start: datetime | None, end: datetime | None) -> int | None:
    """Whole seconds from ``start`` to ``end`` (None unless both are known)."""
    if start is None or end is None:
        return None
    return max(0, int((end - start).total_seconds()))


def sparkline(
    durations: list[int | None], *, width: int = 100, height: int = 24
) -> list[tuple[float, float]]:
    """SVG points of durations (oldest first, scaled to the longest); unknown durations are left out."""
    known = [(i, d) for i, d in enumerate(durations) if d is not None]
    if not known:
        return []
    top = max(d for _, d in known) or 1
    step = (width - 4) / max(1, len(durations) - 1)
    return [(round(2 + i * step, 1), round(height - 2 - (d / top) * (height - 4), 1)) for i, d in known]


def log_html(text: str) -> Markup:
    """Render log text as HTML: a dimmed timestamp per line, ANSI colours kept, everything else escaped."""
    lines: list[str] = []
    for line in text.split("\n"):
        stamp, space, rest = line.partition(" ")
        if space and _STAMP.fullmatch(stamp):
            lines.append(f'<span class="log-ts">{escape(stamp)}</span> {ansi.to_html(rest)}')
        else:
            lines.append(str(ansi.to_html(line)))
    return Markup("\n".join(lines))  # noqa: S704 - each piece escaped by ansi.to_html / escape


def log_tail(session: Session, *, run_id: str) -> tuple[Markup, int, bool]:
    """A run's log tail as HTML (from a line start), the offset after it, and whether lines were left out."""
    _, size = logs.run_state(session, run_id=run_id)
    start = max(0, size - TAIL_BYTES)
    part = logs.read_log(session, run_id=run_id, offset=start, limit=TAIL_BYTES + 4)
    body = part.text
    if start > 0:
        body = body.split("\n", 1)[1] if "\n" in body else ""
    return log_html(body), part.next_offset, start > 0


# ---- the pipeline list -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PipelineRow:
    """One line of the pipeline list: the pipeline, its system, the last run and a duration trend."""

    pipeline: Pipeline
    system: System
    last: PipelineRun | None
    duration: int | None
    trend: list[int | None]
    points: list[tuple[float, float]]


def _recent_runs(
    session: Session, pipeline_ids: list[str], per_pipeline: int
) -> dict[str, list[PipelineRun]]:
    """The newest runs of each pipeline (newest first), in one query."""
    if not pipeline_ids:
        return {}
    rank = (
        func.row_number()
        .over(partition_by=PipelineRun.pipeline_id, order_by=PipelineRun.number.desc())
        .label("rank")
    )
    inner = select(PipelineRun.id, rank).where(PipelineRun.pipeline_id.in_(pipeline_ids)).subquery()
    ids = select(inner.c.id).where(inner.c.rank <= per_pipeline)
    found: dict[str, list[PipelineRun]] = {pid: [] for pid in pipeline_ids}
    query = select(PipelineRun).where(PipelineRun.id.in_(ids)).order_by(PipelineRun.number.desc())
    for run in session.scalars(query):
        found[run.pipeline_id].append(run)
    return found


def pipeline_rows(
    session: Session, *, principal: Principal, paging: PageParams
) -> tuple[list[PipelineRow], int]:
    """Visible pipelines by system name, each with its last run and the durations of its last ten."""
    stmt = select(Pipeline, System).join(System, System.id == Pipeline.system_id)
    limit = system_service.visible_filter(principal, System.domain_id)
    if limit is not None:
        stmt = stmt.where(limit)
    total = session.scalar(select(func.count()).select_from(stmt.with_only_columns(Pipeline.id).subquery()))
    page = session.execute(
        stmt.order_by(System.name, Pipeline.id).offset(paging.offset).limit(paging.per_page)
    ).all()
    recent = _recent_runs(session, [p.id for p, _ in page], TREND)
    rows = []
    for pipeline, system in page:
        runs = recent.get(pipeline.id, [])
        trend = [seconds_between(r.started_at, r.finished_at) for r in reversed(runs)]
        last = runs[0] if runs else None
        duration = seconds_between(last.started_at, last.finished_at) if last else None
        rows.append(PipelineRow(pipeline, system, last, duration, trend, sparkline(trend)))
    return rows, int(total or 0)


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


def junit_totals(artifacts: list[Any]) -> dict[str, Any] | None:
    """JUnit artifacts summed over stages: totals and the failing cases (None when there were none)."""
    junit = [a.data for a in artifacts if a.kind == "junit"]
    if not junit:
        return None
    totals = {
        key: sum(int(d.get(key) or 0) for d in junit) for key in ("tests", "failures", "errors", "skipped")
    }
    cases = [c for d in junit for c in (d.get("cases") or []) if isinstance(c, dict)]
    passed = totals["tests"] - totals["failures"] - totals["errors"] - totals["skipped"]
    return {**totals, "passed": max(0, passed), "cases": cases[:100]}


def run_context(session: Session, *, principal: Principal, run: PipelineRun) -> dict[str, Any]:
    """What the run page and its live status part show."""
    stages, artifacts, history = run_service.details(session, run=run)
    system = session.get(System, run.system_id)
    terminal = run.state in TERMINAL_RUN_STATES
    can_run = principal.has(Permission.pipelines_run)
    coverage = [a.data for a in artifacts if a.kind == "coverage"]
    return {
        "run": run,
        "system": system,
        "stages": [{"stage": s, "duration": seconds_between(s.started_at, s.finished_at)} for s in stages],
        "history": history,
        "duration": seconds_between(run.started_at, run.finished_at),
        "tests": junit_totals(artifacts),
        "images": [a.data for a in artifacts if a.kind == "image"],
        "coverage": coverage[-1] if coverage else None,
        "live": not terminal,
        "can_cancel": can_run and not terminal,
        "can_retry": can_run and run.state in RETRYABLE,
        "stopping": run.cancel_requested_at is not None and not terminal,
        "running_stage": StageState.running.value,
        **labels(),
    }


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


def _systems_with_pipelines(session: Session, principal: Principal) -> list[tuple[str, str]]:
    stmt = (
        select(System.id, System.name).join(Pipeline, Pipeline.system_id == System.id).order_by(System.name)
    )
    limit = system_service.visible_filter(principal, System.domain_id)
    if limit is not None:
        stmt = stmt.where(limit)
    return [(row[0], row[1]) for row in session.execute(stmt.limit(500))]


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
    systems = _systems_with_pipelines(session, principal)
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
    runs = _recent_runs(session, [pipeline.id], RECENT).get(pipeline.id, []) if pipeline else []
    context = {
        "system": system,
        "pipeline": pipeline,
        "runs": [{"run": r, "duration": seconds_between(r.started_at, r.finished_at)} for r in runs],
        "can_run": principal.has(Permission.pipelines_run),
        **labels(),
    }
    return render(request, "pipelines/_run_recent.html", context)
