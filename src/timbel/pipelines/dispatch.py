"""Dispatch: start queued runs within the concurrency limits (global and per system), oldest first.

Why a ``dispatched_at`` mark: a run handed to the queue but not yet picked up by a worker still holds its
slot, so two dispatch passes never start more runs than the limits allow; the reconciler clears marks
whose message was lost. On PostgreSQL one advisory lock serialises passes and candidate rows are read
``FOR UPDATE SKIP LOCKED``; on SQLite a no-op UPDATE takes the write lock first (the driver runs
plain SELECTs outside a transaction, so two passes could both count the same free slots).
"""

from __future__ import annotations

import socket
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from functools import partial

from sqlalchemy import func, or_, select, text, update
from sqlalchemy.orm import Session

from timbel.core.db import after_commit, utcnow
from timbel.core.settings import Settings
from timbel.pipelines.engine_base import RunState
from timbel.pipelines.run_models import PipelineRun

EXECUTE_JOB = "pipelines.execute"
RESUME_JOB = "pipelines.resume"
_LOCK_KEY = 7_013_000_001
Enqueue = Callable[..., str]


def _busy(session: Session) -> Counter[str]:
    """Runs holding a slot, per system: running ones and queued ones already handed to a worker."""
    holding = or_(
        PipelineRun.state == RunState.running.value,
        (PipelineRun.state == RunState.queued.value) & PipelineRun.dispatched_at.is_not(None),
    )
    rows = session.execute(
        select(PipelineRun.system_id, func.count()).where(holding).group_by(PipelineRun.system_id)
    ).all()
    return Counter({system_id: int(count) for system_id, count in rows})


def dispatch(session: Session, *, settings: Settings, enqueue: Enqueue, limit: int = 100) -> list[str]:
    """Mark runnable queued runs dispatched and enqueue their execution after commit; return their ids."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    elif dialect == "sqlite":  # take the write lock before counting: plain SELECTs run outside a transaction
        session.execute(text("UPDATE pipeline_runs SET id = id WHERE 0 = 1"))
    conf = settings.pipelines
    busy = _busy(session)
    free = conf.max_concurrent_runs - sum(busy.values())
    if free <= 0:
        return []
    candidates = session.execute(
        select(PipelineRun.id, PipelineRun.system_id)
        .where(PipelineRun.state == RunState.queued.value, PipelineRun.dispatched_at.is_(None))
        .order_by(PipelineRun.queued_at, PipelineRun.number)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    started: list[str] = []
    for run_id, system_id in candidates:
        if free <= 0:
            break
        if busy[system_id] >= conf.max_concurrent_per_system:
            continue
        marked = session.execute(
            update(PipelineRun)
            .where(
                PipelineRun.id == run_id,
                PipelineRun.dispatched_at.is_(None),
                PipelineRun.state == RunState.queued.value,
            )
            .values(dispatched_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if not marked.rowcount:  # type: ignore[attr-defined]
            continue
        busy[system_id] += 1
        free -= 1
        started.append(run_id)
        after_commit(session, partial(enqueue, EXECUTE_JOB, run_id=run_id))
    return started


def reconcile(session: Session, *, settings: Settings, enqueue: Enqueue) -> dict[str, int]:
    """Resume or fail running runs whose heartbeat stopped; dispatch queued runs whose message was lost."""
    from timbel.pipelines import run_service
    from timbel.pipelines.engine_base import RunOutcome

    now = utcnow()
    conf = settings.pipelines
    resumed = failed = woken = 0
    stale = session.execute(
        select(PipelineRun.id, PipelineRun.engine, PipelineRun.engine_ref, PipelineRun.heartbeat_at).where(
            PipelineRun.state == RunState.running.value,
            PipelineRun.heartbeat_at < now - timedelta(seconds=conf.heartbeat_stale_seconds),
        )
    ).all()
    for run_id, engine, engine_ref, beat in stale:
        if engine == "jenkins" and engine_ref:
            session.execute(
                update(PipelineRun)
                .where(PipelineRun.id == run_id)
                .values(heartbeat_at=now)
                .execution_options(synchronize_session=False)
            )
            after_commit(session, partial(enqueue, RESUME_JOB, run_id=run_id))
            resumed += 1
            continue
        since = beat.isoformat(timespec="seconds") if beat else "start"
        outcome = RunOutcome(RunState.failed, f"runner lost (no heartbeat since {since})")
        moved = run_service.complete_run(session, run_id=run_id, outcome=outcome, enqueue=enqueue)
        failed += moved.accepted
        if moved.accepted and engine == "local" and (engine_ref or {}).get("host") == socket.gethostname():
            from timbel.pipelines.engines.local_process import kill_run_processes

            after_commit(session, partial(kill_run_processes, run_id))
    lost = session.execute(
        update(PipelineRun)
        .where(
            PipelineRun.state == RunState.queued.value,
            PipelineRun.dispatched_at < now - timedelta(seconds=conf.requeue_seconds),
        )
        .values(dispatched_at=None)
        .execution_options(synchronize_session=False)
    )
    woken = int(lost.rowcount or 0)  # type: ignore[attr-defined]
    dispatched = dispatch(session, settings=settings, enqueue=enqueue)
    return {"resumed": resumed, "failed": failed, "woken": woken, "dispatched": len(dispatched)}
