"""Pipelines and runs API: define a system's pipeline, start, list, read, cancel, retry and rerun its runs.

Reading needs ``pipelines:read``, starting/cancelling/retrying ``pipelines:run``, defining ``pipelines:edit``;
every pipeline and run is scoped to the caller's domains through its system (others answer 404).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from timbel.audit import service as audit_service
from timbel.auth.deps import require
from timbel.auth.permissions import Permission
from timbel.auth.principal import Principal
from timbel.catalog import system_service
from timbel.catalog.models import System
from timbel.core.deps import AuditDep, SessionDep
from timbel.core.errors import NotFound
from timbel.core.pagination import Page, PageDep, PageParams, fetch_page
from timbel.pipelines import pipeline_service, run_service
from timbel.pipelines.engine_base import RunState
from timbel.pipelines.run_models import Pipeline, PipelineRun
from timbel.pipelines.run_schemas import (
    ArtifactRead,
    PipelineCreate,
    PipelineFields,
    PipelineListItem,
    PipelineRead,
    PipelineVersionRead,
    RerunRequest,
    RunCreate,
    RunRead,
    RunSummary,
    StageRunRead,
    StateChangeRead,
)

router = APIRouter(prefix="/api/v1", tags=["pipelines"])
Reader = Annotated[Principal, Depends(require(Permission.pipelines_read))]
Runner = Annotated[Principal, Depends(require(Permission.pipelines_run))]
Editor = Annotated[Principal, Depends(require(Permission.pipelines_edit))]


def visible_pipeline(session: Session, *, principal: Principal, pipeline_id: str) -> Pipeline:
    """Return a pipeline whose system the caller may see, or raise NotFound."""
    pipeline = session.get(Pipeline, pipeline_id)
    if pipeline is None:
        raise NotFound("No such pipeline.")
    try:
        system_service.get_visible_or_raise(session, principal=principal, system_id=pipeline.system_id)
    except NotFound as exc:
        raise NotFound("No such pipeline.") from exc
    return pipeline


def _pipelines(session: Session, *, principal: Principal, paging: PageParams) -> tuple[list[Any], int]:
    stmt: Select[Any] = select(Pipeline).join(System, System.id == Pipeline.system_id)
    limit = system_service.visible_filter(principal, System.domain_id)
    if limit is not None:
        stmt = stmt.where(limit)
    return fetch_page(session, stmt, model=Pipeline, order=Pipeline.created_at.desc(), paging=paging)


def _list_item(session: Session, pipeline: Pipeline) -> PipelineListItem:
    system = session.get(System, pipeline.system_id)
    last = session.scalar(
        select(PipelineRun)
        .where(PipelineRun.pipeline_id == pipeline.id)
        .order_by(PipelineRun.number.desc())
        .limit(1)
    )
    duration = None
    if last is not None and last.started_at is not None and last.finished_at is not None:
        duration = (last.finished_at - last.started_at).total_seconds()
    return PipelineListItem(
        id=pipeline.id,
        system_id=pipeline.system_id,
        system_slug=system.slug if system else "",
        system_name=system.name if system else "",
        engine=pipeline.engine,
        version=pipeline.version,
        last_run_id=last.id if last else None,
        last_run_number=last.number if last else None,
        last_run_state=last.state if last else None,
        last_run_at=(last.finished_at or last.started_at or last.queued_at) if last else None,
        last_run_duration_seconds=duration,
    )


@router.get("/pipelines")
def list_pipelines(principal: Reader, session: SessionDep, paging: PageDep) -> Page[PipelineListItem]:
    """List the pipelines of visible systems with their last run (state, time, duration)."""
    rows, total = _pipelines(session, principal=principal, paging=paging)
    items = [_list_item(session, p) for p in rows]
    return Page[PipelineListItem](items=items, total=total, page=paging.page, per_page=paging.per_page)


@router.post("/systems/{system_id}/pipeline", status_code=status.HTTP_201_CREATED)
def create_pipeline(
    system_id: str,
    body: PipelineCreate,
    response: Response,
    principal: Editor,
    session: SessionDep,
    audit: AuditDep,
) -> PipelineRead:
    """Create the system's pipeline from a pipeline template (default: the one for the system's stack)."""
    system = system_service.get_visible_or_raise(session, principal=principal, system_id=system_id)
    pipeline = pipeline_service.create_for_system(
        session,
        system=system,
        ctx=audit,
        template_key=body.template_key,
        engine=body.engine,
        jenkins_integration_id=body.jenkins_integration_id,
    )
    response.headers["Location"] = f"/api/v1/pipelines/{pipeline.id}"
    return PipelineRead.model_validate(pipeline)


@router.get("/pipelines/{pipeline_id}")
def get_pipeline(pipeline_id: str, principal: Reader, session: SessionDep) -> PipelineRead:
    """Read a pipeline: stages, engine, triggers, version."""
    return PipelineRead.model_validate(
        visible_pipeline(session, principal=principal, pipeline_id=pipeline_id)
    )


@router.patch("/pipelines/{pipeline_id}")
def update_pipeline(
    pipeline_id: str,
    body: PipelineFields,
    request: Request,
    principal: Editor,
    session: SessionDep,
    audit: AuditDep,
) -> PipelineRead:
    """Change a pipeline; a real change makes a new version (switching push on/off syncs the GitHub hook)."""
    from timbel.pipelines import hook_registration

    pipeline = visible_pipeline(session, principal=principal, pipeline_id=pipeline_id)
    updated = pipeline_service.update(session, pipeline=pipeline, data=body, ctx=audit)
    if "push_enabled" in body.model_fields_set:
        hook_registration.sync_hook(
            session, pipeline=updated, settings=request.app.state.settings,
            public_url=hook_registration.public_url(request), ctx=audit,
        )  # fmt: skip
    return PipelineRead.model_validate(updated)


@router.get("/pipelines/{pipeline_id}/versions")
def pipeline_versions(pipeline_id: str, principal: Reader, session: SessionDep) -> list[PipelineVersionRead]:
    """The pipeline's saved versions, newest first."""
    pipeline = visible_pipeline(session, principal=principal, pipeline_id=pipeline_id)
    return [
        PipelineVersionRead.model_validate(v) for v in pipeline_service.versions(session, pipeline=pipeline)
    ]


@router.post("/pipelines/{pipeline_id}/runs", status_code=status.HTTP_202_ACCEPTED)
def start_run(
    pipeline_id: str,
    body: RunCreate,
    request: Request,
    response: Response,
    principal: Runner,
    session: SessionDep,
    audit: AuditDep,
) -> RunSummary:
    """Queue a manual run (default ref: the system's default branch); audited."""
    pipeline = visible_pipeline(session, principal=principal, pipeline_id=pipeline_id)
    system = session.get(System, pipeline.system_id)
    ref = body.ref or (system.default_branch if system else "") or "main"
    run = run_service.start_run(
        session,
        pipeline=pipeline,
        trigger="manual",
        actor=principal.username,
        actor_id=principal.user_id,
        ref=ref,
        parameters=body.parameters,
        enqueue=request.app.state.jobs.enqueue,
    )
    audit_service.record(
        session,
        ctx=audit,
        action="pipeline_run.start",
        target_type="pipeline_run",
        target_id=run.id,
        summary=f"Started run #{run.number} of {system.slug if system else pipeline.system_id} at {ref}",
        changes={"pipeline_id": pipeline.id, "ref": ref, "parameters": sorted(body.parameters)},
    )
    response.headers["Location"] = f"/api/v1/runs/{run.id}"
    return RunSummary.model_validate(run)


@router.get("/runs")
def list_runs(
    principal: Reader,
    session: SessionDep,
    paging: PageDep,
    system_id: Annotated[str | None, Query(max_length=36)] = None,
    pipeline_id: Annotated[str | None, Query(max_length=36)] = None,
    state: RunState | None = None,
    trigger: Annotated[str | None, Query(max_length=16)] = None,
) -> Page[RunSummary]:
    """List visible runs, newest first (filters: system_id, pipeline_id, state, trigger)."""
    rows, total = run_service.list_runs(
        session,
        principal=principal,
        paging=paging,
        system_id=system_id,
        pipeline_id=pipeline_id,
        state=state.value if state else None,
        trigger=trigger,
    )
    items = [RunSummary.model_validate(r) for r in rows]
    return Page[RunSummary](items=items, total=total, page=paging.page, per_page=paging.per_page)


def _read(session: Session, run: PipelineRun) -> RunRead:
    stages, artifacts, history = run_service.details(session, run=run)
    return RunRead.model_validate(run).model_copy(
        update={
            "stages": [StageRunRead.model_validate(s) for s in stages],
            "artifacts": [ArtifactRead.model_validate(a) for a in artifacts],
            "history": [StateChangeRead.model_validate(h) for h in history],
        }
    )


@router.get("/runs/{run_id}")
def get_run(run_id: str, principal: Reader, session: SessionDep) -> RunRead:
    """Read a run with its stages, artifacts and state history."""
    return _read(session, run_service.get_visible_or_raise(session, principal=principal, run_id=run_id))


@router.post("/runs/{run_id}/cancel", status_code=status.HTTP_202_ACCEPTED)
def cancel_run(run_id: str, principal: Runner, session: SessionDep, audit: AuditDep) -> RunRead:
    """Cancel a queued run at once, or ask a running one to stop."""
    run = run_service.get_visible_or_raise(session, principal=principal, run_id=run_id)
    run_service.cancel_run(session, run=run, ctx=audit)
    return _read(session, run)


@router.post("/runs/{run_id}/retry", status_code=status.HTTP_202_ACCEPTED)
def retry_run(
    run_id: str, request: Request, response: Response, principal: Runner, session: SessionDep, audit: AuditDep
) -> RunSummary:
    """Run a finished run again (same ref and commit) as a new run."""
    run = run_service.get_visible_or_raise(session, principal=principal, run_id=run_id)
    new = run_service.retry_run(session, run=run, ctx=audit, enqueue=request.app.state.jobs.enqueue)
    response.headers["Location"] = f"/api/v1/runs/{new.id}"
    return RunSummary.model_validate(new)


@router.post("/runs/{run_id}/rerun", status_code=status.HTTP_202_ACCEPTED)
def rerun_run(
    run_id: str,
    body: RerunRequest,
    request: Request,
    response: Response,
    principal: Runner,
    session: SessionDep,
    audit: AuditDep,
) -> RunSummary:
    """Run a finished run again from one stage on (the checkout always runs)."""
    run = run_service.get_visible_or_raise(session, principal=principal, run_id=run_id)
    new = run_service.rerun_from(
        session, run=run, stage_index=body.from_stage, ctx=audit, enqueue=request.app.state.jobs.enqueue
    )
    response.headers["Location"] = f"/api/v1/runs/{new.id}"
    return RunSummary.model_validate(new)
