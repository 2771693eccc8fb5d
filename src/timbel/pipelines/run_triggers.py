"""Push and schedule triggers of pipeline runs, kept apart so ``run_service`` stays about the run itself."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from timbel.catalog.models import System
from timbel.pipelines import run_service
from timbel.pipelines.run_models import Pipeline, PipelineRun
from timbel.pipelines.run_service import Enqueue

if TYPE_CHECKING:
    from timbel.webhooks.handlers import PushEvent

ZERO_SHA = "0" * 40


def branch_matches(pipeline: Pipeline, name: str, *, default_branch: str | None = None) -> bool:
    """Tell whether a pushed branch matches the pipeline's patterns (none: the default branch)."""
    from fnmatch import fnmatchcase

    patterns = pipeline.branch_filters or [default_branch or "main"]
    return any(fnmatchcase(name, pattern) for pattern in patterns)


def on_push_event(session: Session, *, event: PushEvent, enqueue: Enqueue) -> list[PipelineRun]:
    """Start a push run per matching system pipeline (one per delivery and system, however often sent).

    Branch pushes only: tag pushes and branch deletions start nothing.
    """
    if event.deleted or not event.system_ids or not event.branch:
        return []
    started: list[PipelineRun] = []
    rows = session.execute(
        select(Pipeline, System.default_branch)
        .join(System, System.id == Pipeline.system_id)
        .where(Pipeline.system_id.in_(event.system_ids))
    ).all()
    for pipeline, default_branch in rows:
        if not pipeline.push_enabled or not branch_matches(
            pipeline, event.branch, default_branch=default_branch
        ):
            continue
        started.append(
            run_service.start_run(
                session,
                pipeline=pipeline,
                trigger="push",
                actor=event.pusher or event.source,
                ref=event.branch,
                commit_before=event.before if event.before and event.before != ZERO_SHA else None,
                commit_after=event.after or None,
                delivery_id=f"{event.delivery_id}:{pipeline.system_id}"[:100],
                enqueue=enqueue,
            )
        )
    return started


def scheduled_runs(session: Session, *, now: datetime, enqueue: Enqueue) -> list[PipelineRun]:
    """Start the runs whose pipeline schedule (cron, UTC) matches ``now``'s minute, once per minute."""
    from timbel.core.jobs import crontab

    started: list[PipelineRun] = []
    rows = session.execute(
        select(Pipeline, System.default_branch)
        .join(System, System.id == Pipeline.system_id)
        .where(Pipeline.schedule.is_not(None))
    ).all()
    for pipeline, branch in rows:
        try:
            due = crontab(*str(pipeline.schedule).split())(now)
        except (TypeError, ValueError):
            continue
        if due:
            key = f"schedule:{pipeline.id}:{now:%Y%m%d%H%M}"
            started.append(
                run_service.start_run(
                    session,
                    pipeline=pipeline,
                    trigger="schedule",
                    actor="schedule",
                    ref=branch or "main",
                    delivery_id=key,
                    enqueue=enqueue,
                )
            )
    return started
