"""Pipeline run jobs: dispatch queued runs, execute one run on its engine, resume, reconcile, clean up.

``pipelines.execute`` is idempotent: it works only on a run it could move from ``queued`` to ``running``,
so a message delivered twice runs once. The engine blocks until the run ends and reports through
``DbRunEvents``; the outcome is stored, notified, and dispatch is woken for the next queued runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import select
from sqlalchemy.orm import Session

from timbel.catalog.models import System
from timbel.core.db import session_scope, utcnow
from timbel.core.errors import AppError
from timbel.core.jobs import JobContext, crontab, job
from timbel.core.settings import Settings
from timbel.pipelines import dispatch, run_service, run_triggers
from timbel.pipelines import secrets as pipeline_secrets
from timbel.pipelines.engine_base import (
    Engine,
    RunOutcome,
    RunSpec,
    RunState,
    StageKind,
    StageSpec,
    StageState,
)
from timbel.pipelines.engines import EngineContext, engine_for
from timbel.pipelines.run_events import DbRunEvents
from timbel.pipelines.run_models import Pipeline, PipelineRun, StageRun
from timbel.webhooks.handlers import PushEvent, on_push

logger = logging.getLogger(__name__)


def workspace_root(settings: Settings) -> Path:
    """Where run workspaces live: the configured directory, else ``<data dir>/workspaces``."""
    return settings.pipelines.workspace_dir or settings.data_dir / "workspaces"


def _stage_specs(session: Session, run: PipelineRun) -> tuple[StageSpec, ...]:
    """The stages the engine runs: all of them, or (rerun) the checkout and those from the chosen stage on."""
    reused = set(
        session.scalars(
            select(StageRun.index).where(
                StageRun.run_id == run.id, StageRun.state == StageState.skipped.value
            )
        )
    )
    specs = []
    for index, stage in enumerate(run_service.stages_of(session, run=run)):
        if index in reused and run.rerun_from_stage is not None:
            continue
        specs.append(
            StageSpec(
                index=index,
                name=str(stage["name"]),
                kind=StageKind(stage["kind"]),
                command=stage.get("command"),
                timeout_seconds=int(stage.get("timeout_seconds") or 1800),
                retries=int(stage.get("retries") or 0),
                continue_on_failure=bool(stage.get("continue_on_failure")),
                workdir=str(stage.get("workdir") or "."),
            )
        )
    return tuple(specs)


def _prepare(ctx: JobContext, run_id: str) -> tuple[RunSpec, EngineContext, str, dict[str, Any] | None]:
    """Read everything the engine needs in one short transaction; raise AppError when the run cannot start."""
    with session_scope(ctx.session_factory) as session:
        run = session.get(PipelineRun, run_id)
        assert run is not None
        pipeline = session.get(Pipeline, run.pipeline_id)
        system = session.get(System, run.system_id)
        if pipeline is None or system is None or not system.repo_url:
            raise AppError("The system has no repository URL to run the pipeline on.")
        spec = RunSpec(
            run_id=run.id,
            number=run.number,
            system_slug=system.slug,
            repo_url=system.repo_url,
            ref=run.ref,
            commit=run.commit_after,
            stages=_stage_specs(session, run),
            parameters=dict(run.parameters or {}),
            run_timeout_seconds=ctx.settings.pipelines.run_timeout_seconds,
            secrets=pipeline_secrets.read_secrets(pipeline, settings=ctx.settings),
        )
        engine_ctx = EngineContext(
            settings=ctx.settings,
            session_factory=ctx.session_factory,
            pipeline_id=pipeline.id,
            domain_id=system.domain_id,
            jenkins_integration_id=pipeline.jenkins_integration_id,
        )
        engine_name, engine_ref = run.engine, run.engine_ref
    token = _clone_token(ctx, spec.repo_url, engine_ctx.domain_id)
    return replace(spec, clone_token=token), engine_ctx, engine_name, engine_ref


def _clone_token(ctx: JobContext, repo_url: str, domain_id: str | None) -> str | None:
    from timbel.integrations.github.credentials import InstanceCredentials

    host = urlparse(repo_url).hostname
    if not host:
        return None
    credentials = InstanceCredentials(
        session_factory=ctx.session_factory, settings=ctx.settings, domain_id=domain_id
    )
    return credentials.token_for(host)


def _complete(ctx: JobContext, run_id: str, outcome: RunOutcome) -> dict[str, Any]:
    with session_scope(ctx.session_factory) as session:
        moved = run_service.complete_run(session, run_id=run_id, outcome=outcome, enqueue=ctx.enqueue)
    return {"run_id": run_id, "state": outcome.state.value if moved.accepted else moved.from_state}


def _drive(ctx: JobContext, run_id: str, *, resume: bool) -> dict[str, Any]:
    """Build the spec and engine, run (or resume) it, and store the outcome."""
    try:
        spec, engine_ctx, engine_name, engine_ref = _prepare(ctx, run_id)
        engine: Engine = engine_for(engine_name, engine_ctx)
    except AppError as exc:
        return _complete(ctx, run_id, RunOutcome(RunState.failed, str(exc.detail or exc.title)))
    except Exception as exc:
        logger.exception("pipeline run %s: preparing the engine failed", run_id)
        return _complete(ctx, run_id, RunOutcome(RunState.failed, f"engine error: {type(exc).__name__}"))
    mask = ([spec.clone_token] if spec.clone_token else []) + list(spec.secrets.values())
    events = DbRunEvents(session_factory=ctx.session_factory, run_id=run_id, mask=mask)
    try:
        if resume:
            found = engine.resume(spec, events, engine_ref=engine_ref or {})
            outcome = found or RunOutcome(RunState.failed, "runner lost (the engine cannot resume this run)")
        else:
            outcome = engine.execute(spec, events, workspace_root=workspace_root(ctx.settings))
    except Exception as exc:
        logger.exception("pipeline run %s: the engine failed", run_id)
        outcome = RunOutcome(RunState.failed, f"engine error: {type(exc).__name__}")
    return _complete(ctx, run_id, outcome)


@job("pipelines.execute")
def execute(ctx: JobContext, *, run_id: str) -> dict[str, Any]:
    """Run a dispatched queued run to its end on its engine."""
    with session_scope(ctx.session_factory) as session:
        started = run_service.begin(session, run_id=run_id, enqueue=ctx.enqueue)
    if not started.accepted:
        return {"run_id": run_id, "skipped": started.refusal}
    return _drive(ctx, run_id, resume=False)


@job("pipelines.resume")
def resume(ctx: JobContext, *, run_id: str) -> dict[str, Any]:
    """Follow a running run again after its worker stopped (engines that can, e.g. Jenkins)."""
    with session_scope(ctx.session_factory) as session:
        run = session.get(PipelineRun, run_id)
        if run is None or run.state != RunState.running.value:
            return {"run_id": run_id, "skipped": "not running"}
    return _drive(ctx, run_id, resume=True)


@job("pipelines.dispatch")
def dispatch_runs(ctx: JobContext) -> dict[str, Any]:
    """Start queued runs within the concurrency limits."""
    with session_scope(ctx.session_factory) as session:
        started = dispatch.dispatch(session, settings=ctx.settings, enqueue=ctx.enqueue)
    return {"dispatched": started}


@job("pipelines.reconcile", periodic=crontab(minute="*"))
def reconcile(ctx: JobContext) -> dict[str, int]:
    """Resume or fail runs whose heartbeat stopped; dispatch queued runs whose message was lost."""
    with session_scope(ctx.session_factory) as session:
        return dispatch.reconcile(session, settings=ctx.settings, enqueue=ctx.enqueue)


@job("pipelines.cleanup_workspaces", periodic=crontab(minute="17"))
def cleanup_workspaces(ctx: JobContext) -> dict[str, int]:
    """Delete old run workspaces (all but the newest 20, and any older than a day)."""
    from timbel.pipelines.engines.workspace import cleanup_workspaces as cleanup

    root = workspace_root(ctx.settings)
    return {"removed": len(cleanup(root)) if root.is_dir() else 0}


def _on_push(*, session: Session, event: PushEvent, enqueue: Callable[..., str]) -> None:
    """Start push runs of the pushed systems' pipelines (a redelivered webhook starts nothing new)."""
    run_triggers.on_push_event(session, event=event, enqueue=enqueue)


on_push(_on_push, name="pipelines.push")


@job("pipelines.schedule", periodic=crontab(minute="*"))
def schedule(ctx: JobContext) -> dict[str, Any]:
    """Start the runs of pipelines whose cron schedule is due this minute (UTC; once per minute)."""
    with session_scope(ctx.session_factory) as session:
        started = run_triggers.scheduled_runs(session, now=utcnow(), enqueue=ctx.enqueue)
        return {"started": [run.id for run in started]}
