"""Pipeline runs: start (deduplicated, superseding), cancel, retry, rerun from a stage, finish, read, scope.

Why the run row is the truth: engines only report through ``RunEvents``; every state change goes through
``RUN_MACHINE`` with a history row, and work for other processes (dispatch) is enqueued only after the
caller commits. Services flush, never commit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from timbel.audit import service as audit_service
from timbel.audit.service import AuditContext
from timbel.auth.principal import Principal
from timbel.catalog import system_service
from timbel.catalog.models import System
from timbel.core.db import after_commit, utcnow
from timbel.core.errors import Conflict, NotFound, ValidationFailed
from timbel.core.pagination import PageParams, fetch_page
from timbel.core.states import Transition, set_state
from timbel.pipelines.engine_base import RunOutcome, RunState, StageKind, StageState
from timbel.pipelines.run_models import (
    RUN_MACHINE,
    TERMINAL_RUN_STATES,
    Pipeline,
    PipelineRun,
    PipelineVersion,
    RunArtifact,
    RunStateChange,
    StageRun,
)

DISPATCH_JOB = "pipelines.dispatch"
TRIGGERS = frozenset({"manual", "push", "schedule", "promotion", "retry"})
Enqueue = Callable[..., str]


def transition(
    session: Session,
    *,
    run_id: str,
    to: RunState,
    reason: str = "",
    actor_id: str | None = None,
    values: Mapping[str, Any] | None = None,
) -> Transition:
    """Change a run's state through ``RUN_MACHINE``, with a history row (an ending also sets ``reason``)."""
    ending = {"reason": reason[:2000]} if RUN_MACHINE.terminal(to) else {}
    return set_state(
        session,
        machine=RUN_MACHINE,
        model=PipelineRun,
        row_id=run_id,
        to=to,
        values={**ending, **dict(values or {})},
        history=lambda old, new: RunStateChange(
            run_id=run_id, from_state=old, to_state=new, reason=reason[:2000], actor_id=actor_id
        ),
    )


def stages_of(session: Session, *, run: PipelineRun) -> list[dict[str, Any]]:
    """The stage definitions the run executes: its pipeline's stages at the run's pipeline version."""
    snap = session.scalar(
        select(PipelineVersion.snapshot).where(
            PipelineVersion.pipeline_id == run.pipeline_id, PipelineVersion.version == run.pipeline_version
        )
    )
    if snap is not None and snap.get("stages") is not None:
        return list(snap["stages"])
    pipeline = session.get(Pipeline, run.pipeline_id)
    return list(pipeline.stages) if pipeline is not None else []


def _next_number(session: Session, pipeline: Pipeline) -> int:
    if session.get_bind().dialect.name == "sqlite":
        # Write lock first: SQLite cannot turn this transaction's read into a write once another process
        # has committed since the read ("database is locked" at once, no busy wait).
        session.execute(text("UPDATE pipelines SET id = id WHERE 0 = 1"))
    session.execute(select(Pipeline.id).where(Pipeline.id == pipeline.id).with_for_update())
    last = session.scalar(select(func.max(PipelineRun.number)).where(PipelineRun.pipeline_id == pipeline.id))
    return int(last or 0) + 1


def _add_stage_runs(
    session: Session,
    *,
    run: PipelineRun,
    stages: list[dict[str, Any]],
    reused_from: int | None,
    from_stage: int | None,
) -> None:
    for index, stage in enumerate(stages):
        skipped = (
            from_stage is not None and 0 < index < from_stage and stage.get("kind") != StageKind.checkout
        )
        session.add(
            StageRun(
                run_id=run.id,
                index=index,
                name=str(stage["name"]),
                kind=str(stage["kind"]),
                state=(StageState.skipped if skipped else StageState.pending).value,
                reason=f"reused from run #{reused_from}" if skipped else "",
            )
        )


def _supersede(session: Session, *, run: PipelineRun, actor_id: str | None) -> int:
    """Cancel the still-queued runs of the same pipeline and ref; return how many."""
    older = session.scalars(
        select(PipelineRun.id).where(
            PipelineRun.pipeline_id == run.pipeline_id,
            PipelineRun.ref == run.ref,
            PipelineRun.state == RunState.queued.value,
            PipelineRun.id != run.id,
        )
    ).all()
    done = 0
    for run_id in older:
        done += _cancel_queued(
            session, run_id=run_id, reason=f"superseded by #{run.number}", actor_id=actor_id
        )
    return done


def _cancel_queued(session: Session, *, run_id: str, reason: str, actor_id: str | None) -> bool:
    moved = transition(
        session,
        run_id=run_id,
        to=RunState.cancelled,
        reason=reason,
        actor_id=actor_id,
        values={"finished_at": utcnow()},
    )
    if moved.accepted:
        _close_stages(session, run_id=run_id, state=RunState.cancelled)
    return moved.accepted


def by_delivery(session: Session, *, delivery_id: str) -> PipelineRun | None:
    """The run a webhook delivery started, if any."""
    return session.scalar(select(PipelineRun).where(PipelineRun.delivery_id == delivery_id))


def start_run(
    session: Session,
    *,
    pipeline: Pipeline,
    trigger: str,
    actor: str,
    ref: str,
    enqueue: Enqueue,
    commit_before: str | None = None,
    commit_after: str | None = None,
    parameters: Mapping[str, str] | None = None,
    delivery_id: str | None = None,
    retry_of: PipelineRun | None = None,
    rerun_from_stage: int | None = None,
    actor_id: str | None = None,
) -> PipelineRun:
    """Queue a run (a delivery seen before returns its run); dispatch is woken after commit."""
    if trigger not in TRIGGERS:
        raise ValidationFailed(f"Unknown trigger {trigger!r}.")
    if delivery_id is not None:
        existing = by_delivery(session, delivery_id=delivery_id)
        if existing is not None:
            return existing
    version = retry_of.pipeline_version if retry_of is not None else pipeline.version
    stages = stages_of(session, run=retry_of) if retry_of is not None else list(pipeline.stages)
    if rerun_from_stage is not None and not 0 <= rerun_from_stage < len(stages):
        raise ValidationFailed(
            "No such stage to run from.",
            errors=[{"loc": ["body", "from_stage"], "type": "pipeline_run.stage", "msg": "out of range"}],
        )
    savepoint = session.begin_nested()
    try:
        run = PipelineRun(
            pipeline_id=pipeline.id,
            system_id=pipeline.system_id,
            number=_next_number(session, pipeline),
            pipeline_version=version,
            trigger=trigger,
            actor=actor[:200],
            actor_id=actor_id,
            ref=ref,
            commit_before=commit_before,
            commit_after=commit_after,
            parameters=dict(parameters or {}),
            engine=pipeline.engine,
            state=RunState.queued.value,
            retry_of_id=retry_of.id if retry_of else None,
            rerun_from_stage=rerun_from_stage,
            delivery_id=delivery_id,
            queued_at=utcnow(),
        )
        session.add(run)
        session.flush()
        savepoint.commit()
    except IntegrityError:
        savepoint.rollback()
        existing = by_delivery(session, delivery_id=delivery_id) if delivery_id else None
        if existing is None:
            raise
        return existing
    _add_stage_runs(
        session,
        run=run,
        stages=stages,
        reused_from=retry_of.number if retry_of else None,
        from_stage=rerun_from_stage,
    )
    session.add(
        RunStateChange(
            run_id=run.id,
            from_state="",
            to_state=RunState.queued.value,
            reason=f"{trigger} by {actor}"[:2000],
            actor_id=actor_id,
        )
    )
    if pipeline.supersede_queued:
        _supersede(session, run=run, actor_id=actor_id)
    session.flush()
    after_commit(session, partial(enqueue, DISPATCH_JOB))
    return run


def _close_stages(session: Session, *, run_id: str, state: RunState) -> None:
    """End the stages a finished run left open: pending ones cancelled/skipped, running ones too."""
    pending = (
        StageState.cancelled if state in (RunState.cancelled, RunState.timed_out) else StageState.skipped
    )
    running = StageState.failed if state in (RunState.failed, RunState.timed_out) else StageState.cancelled
    now = utcnow()
    for old, new in ((StageState.pending, pending), (StageState.running, running)):
        session.execute(
            update(StageRun)
            .where(StageRun.run_id == run_id, StageRun.state == old.value)
            .values(state=new.value, finished_at=now, reason=f"run {state.value}")
            .execution_options(synchronize_session="fetch")
        )


def cancel_run(
    session: Session, *, run: PipelineRun, ctx: AuditContext, reason: str = "cancelled by user"
) -> bool:
    """Cancel a queued run now, or ask a running one to stop (the engine sees it within a second or so)."""
    if run.state in TERMINAL_RUN_STATES:
        raise Conflict("The run has already finished.")
    audit_service.record(
        session,
        ctx=ctx,
        action="pipeline_run.cancel",
        target_type="pipeline_run",
        target_id=run.id,
        summary=f"Cancelled run #{run.number}",
    )
    if run.state == RunState.queued.value and _cancel_queued(
        session, run_id=run.id, reason=reason, actor_id=ctx.actor_id
    ):
        session.refresh(run)
        return True
    session.execute(
        update(PipelineRun)
        .where(PipelineRun.id == run.id, PipelineRun.cancel_requested_at.is_(None))
        .values(cancel_requested_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )
    session.refresh(run)
    return False


def retry_run(
    session: Session,
    *,
    run: PipelineRun,
    ctx: AuditContext,
    enqueue: Enqueue,
    rerun_from_stage: int | None = None,
) -> PipelineRun:
    """Start a new run of the same ref and commit, linked to ``run`` (optionally from one stage on)."""
    if run.state not in TERMINAL_RUN_STATES:
        raise Conflict("Only a finished run can be retried.")
    pipeline = session.get(Pipeline, run.pipeline_id)
    assert pipeline is not None
    new = start_run(
        session,
        pipeline=pipeline,
        trigger="retry",
        actor=ctx.actor_name or "",
        actor_id=ctx.actor_id,
        ref=run.ref,
        commit_before=run.commit_before,
        commit_after=run.commit_after,
        parameters=run.parameters,
        retry_of=run,
        rerun_from_stage=rerun_from_stage,
        enqueue=enqueue,
    )
    what = f"from stage {rerun_from_stage}" if rerun_from_stage is not None else "again"
    audit_service.record(
        session,
        ctx=ctx,
        action="pipeline_run.retry",
        target_type="pipeline_run",
        target_id=new.id,
        summary=f"Ran #{run.number} {what} as #{new.number}",
        changes={"retry_of": run.id, "rerun_from_stage": rerun_from_stage},
    )
    return new


def rerun_from(
    session: Session, *, run: PipelineRun, stage_index: int, ctx: AuditContext, enqueue: Enqueue
) -> PipelineRun:
    """Run again from stage ``stage_index`` (the checkout always runs; earlier stages count as reused)."""
    return retry_run(session, run=run, ctx=ctx, enqueue=enqueue, rerun_from_stage=stage_index)


def finish_run(session: Session, *, run_id: str, outcome: RunOutcome) -> Transition:
    """Store how a running run ended and close its open stages."""
    values: dict[str, Any] = {"finished_at": utcnow()}
    if outcome.commit:
        values["commit_after"] = outcome.commit
    moved = transition(session, run_id=run_id, to=outcome.state, reason=outcome.reason, values=values)
    if moved.accepted:
        _close_stages(session, run_id=run_id, state=outcome.state)
    return moved


def visible_filter(principal: Principal) -> ColumnElement[bool] | None:
    """Limit runs and pipelines to systems in the caller's domains (None: sees all)."""
    limit = system_service.visible_filter(principal, System.domain_id)
    if limit is None:
        return None
    return PipelineRun.system_id.in_(select(System.id).where(limit))


def get_visible_or_raise(session: Session, *, principal: Principal, run_id: str) -> PipelineRun:
    """Return a run the caller may see, or raise NotFound."""
    stmt = select(PipelineRun).where(PipelineRun.id == run_id)
    limit = visible_filter(principal)
    if limit is not None:
        stmt = stmt.where(limit)
    run = session.scalar(stmt)
    if run is None:
        raise NotFound("No such pipeline run.")
    return run


def list_runs(
    session: Session,
    *,
    principal: Principal,
    paging: PageParams,
    system_id: str | None = None,
    pipeline_id: str | None = None,
    state: str | None = None,
    trigger: str | None = None,
) -> tuple[list[PipelineRun], int]:
    """List visible runs, newest first."""
    stmt: Select[Any] = select(PipelineRun)
    limit = visible_filter(principal)
    if limit is not None:
        stmt = stmt.where(limit)
    for column, value in (
        (PipelineRun.system_id, system_id),
        (PipelineRun.pipeline_id, pipeline_id),
        (PipelineRun.state, state),
        (PipelineRun.trigger, trigger),
    ):
        if value:
            stmt = stmt.where(column == value)
    return fetch_page(session, stmt, model=PipelineRun, order=PipelineRun.queued_at.desc(), paging=paging)


def details(
    session: Session, *, run: PipelineRun
) -> tuple[list[StageRun], list[RunArtifact], list[RunStateChange]]:
    """A run's stage runs, artifacts and state history, in order."""
    stages = session.scalars(select(StageRun).where(StageRun.run_id == run.id).order_by(StageRun.index)).all()
    artifacts = session.scalars(
        select(RunArtifact)
        .where(RunArtifact.run_id == run.id)
        .order_by(RunArtifact.created_at, RunArtifact.id)
    ).all()
    history = session.scalars(
        select(RunStateChange)
        .where(RunStateChange.run_id == run.id)
        .order_by(RunStateChange.at, RunStateChange.id)
    ).all()
    return list(stages), list(artifacts), list(history)


def _duration(run: PipelineRun) -> str:
    if run.started_at is None or run.finished_at is None:
        return "-"
    seconds = int((run.finished_at - run.started_at).total_seconds())
    return f"{seconds // 60}m {seconds % 60}s" if seconds >= 60 else f"{seconds}s"


def _notify(session: Session, *, run: PipelineRun, enqueue: Enqueue) -> None:
    """Tell the subscribed channels that a run started, succeeded or failed (cancelled runs are quiet)."""
    from timbel.notifications.service import notify

    if run.state == RunState.running.value:
        event = "pipeline.started"
    elif run.state == RunState.succeeded.value:
        event = "pipeline.succeeded"
    elif run.state in (RunState.failed.value, RunState.timed_out.value):
        event = "pipeline.failed"
    else:
        return
    system = session.get(System, run.system_id)
    failed = session.scalar(
        select(StageRun.name)
        .where(StageRun.run_id == run.id, StageRun.state == StageState.failed.value)
        .order_by(StageRun.index)
        .limit(1)
    )
    data = {
        "system": system.slug if system else run.system_id,
        "pipeline": system.name if system else "pipeline",
        "run": run.number,
        "branch": run.ref,
        "commit": (run.commit_after or "")[:12] or "-",
        "duration": _duration(run),
        "stage": failed or run.reason or "-",
        "run_id": run.id,
        "reason": run.reason,
        "trigger": run.trigger,
        "actor": run.actor or "-",
    }
    notify(
        session,
        event=event,
        data=data,
        enqueue=enqueue,
        domain_id=system.domain_id if system else None,
        dedup_key=f"pipeline_run:{run.id}:{run.state}",
    )


def complete_run(session: Session, *, run_id: str, outcome: RunOutcome, enqueue: Enqueue) -> Transition:
    """Finish a run, notify, and wake dispatch for the next queued runs after commit."""
    moved = finish_run(session, run_id=run_id, outcome=outcome)
    if moved.accepted:
        run = session.get(PipelineRun, run_id)
        assert run is not None
        session.refresh(run)
        _notify(session, run=run, enqueue=enqueue)
        if run.state == RunState.succeeded.value:  # a succeeded run becomes a release (deployments)
            after_commit(session, partial(enqueue, "deployments.release_from_run", run_id=run_id))
    after_commit(session, partial(enqueue, DISPATCH_JOB))
    return moved


def begin(session: Session, *, run_id: str, enqueue: Enqueue | None = None) -> Transition:
    """Mark a queued run running (a second delivery of the same message is refused); with ``enqueue``,
    tell the subscribed channels it started."""
    now = utcnow()
    run = session.get(PipelineRun, run_id)
    attempts = (run.attempts if run else 0) + 1
    moved = transition(
        session,
        run_id=run_id,
        to=RunState.running,
        reason=f"attempt {attempts}",
        values={"attempts": attempts, "started_at": now, "heartbeat_at": now},
    )
    if moved.accepted and enqueue is not None and run is not None:
        session.refresh(run)
        _notify(session, run=run, enqueue=enqueue)
    return moved
