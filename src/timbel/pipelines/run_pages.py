"""Data for the pipeline templates (queries and shaping), kept apart so ``run_views`` holds only routes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from timbel.auth.permissions import Permission
from timbel.auth.principal import Principal
from timbel.catalog import system_service
from timbel.catalog.models import System
from timbel.core.pagination import PageParams
from timbel.pipelines import ansi, logs, run_service
from timbel.pipelines.engine_base import RunState, StageState
from timbel.pipelines.run_models import TERMINAL_RUN_STATES, Pipeline, PipelineRun
from timbel.web.i18n import N_

TREND = 10
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


@dataclass(frozen=True)
class PipelineRow:
    """One line of the pipeline list: the pipeline, its system, the last run and a duration trend."""

    pipeline: Pipeline
    system: System
    last: PipelineRun | None
    duration: int | None
    trend: list[int | None]
    points: list[tuple[float, float]]


def recent_runs(session: Session, pipeline_ids: list[str], per_pipeline: int) -> dict[str, list[PipelineRun]]:
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
    recent = recent_runs(session, [p.id for p, _ in page], TREND)
    rows = []
    for pipeline, system in page:
        runs = recent.get(pipeline.id, [])
        trend = [seconds_between(r.started_at, r.finished_at) for r in reversed(runs)]
        last = runs[0] if runs else None
        duration = seconds_between(last.started_at, last.finished_at) if last else None
        rows.append(PipelineRow(pipeline, system, last, duration, trend, sparkline(trend)))
    return rows, int(total or 0)


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


def systems_with_pipelines(session: Session, principal: Principal) -> list[tuple[str, str]]:
    """Visible systems that have a pipeline, by name (id, name), for the history filter."""
    stmt = (
        select(System.id, System.name).join(Pipeline, Pipeline.system_id == System.id).order_by(System.name)
    )
    limit = system_service.visible_filter(principal, System.domain_id)
    if limit is not None:
        stmt = stmt.where(limit)
    return [(row[0], row[1]) for row in session.execute(stmt.limit(500))]
