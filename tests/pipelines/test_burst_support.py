"""Shared pieces of the burst and durability tests and benchmarks: a fixture repository, pipelines of
trivial stages on the real local runner, a log catcher, waiting for runs.

(Named ``test_burst_*`` so it lives with the burst tests; it holds no tests itself.)
"""

from __future__ import annotations

import logging
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from timbel.audit.service import AuditContext
from timbel.catalog.models import Domain, System
from timbel.core.db import session_scope
from timbel.pipelines import pipeline_service, run_service
from timbel.pipelines.engine_base import RunState
from timbel.pipelines.run_models import Pipeline, PipelineRun
from timbel.pipelines.template_seeds import ensure_seeds

TERMINAL = {s.value for s in (RunState.succeeded, RunState.failed, RunState.cancelled, RunState.timed_out)}
_GIT_ENV = {"PATH": "/usr/bin:/bin", "GIT_CONFIG_NOSYSTEM": "1"}
_IDENT = ["-c", "user.name=Test", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main"]


def make_repo(path: Path) -> str:
    """A one-commit git repository at ``path``; returns the commit."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "README.md").write_text("burst\n", encoding="utf-8")
    env = {**_GIT_ENV, "HOME": str(path)}
    for argv in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "fixture"]):
        subprocess.run(["git", *_IDENT, "-C", str(path), *argv], check=True, env=env, capture_output=True)
    out = subprocess.run(
        ["git", "-C", str(path), "rev-parse", "HEAD"], check=True, env=env, capture_output=True
    )
    return out.stdout.decode().strip()


def stages(*commands: str) -> list[dict[str, Any]]:
    """A checkout stage, then one custom stage per command."""
    return [{"name": "checkout", "kind": "checkout"}] + [
        {"name": f"s{index}", "kind": "custom", "command": command, "timeout_seconds": 120}
        for index, command in enumerate(commands, start=1)
    ]


def make_pipelines(
    factory: sessionmaker[Session], *, repo_url: str, engine: str, count: int, commands: Sequence[str]
) -> list[str]:
    """``count`` systems (one domain) each with a pipeline of ``commands`` on ``engine``; their ids."""
    ctx = AuditContext(actor_name="bench")
    with session_scope(factory) as session:
        ensure_seeds(session)
        domain = Domain(code="burst", name="Burst")
        session.add(domain)
        session.flush()
        ids = []
        for index in range(count):
            system = System(domain_id=domain.id, slug=f"sys{index}", name=f"sys{index}", repo_url=repo_url)
            session.add(system)
            session.flush()
            pipeline = pipeline_service.create_for_system(
                session, system=system, ctx=ctx, template_key="python-fastapi", engine=engine
            )
            data = {"stages": stages(*commands), "supersede_queued": False}
            pipeline_service.update(session, pipeline=pipeline, data=data, ctx=ctx)
            ids.append(pipeline.id)
        return ids


def start_runs(
    factory: sessionmaker[Session], *, pipeline_ids: Sequence[str], runs: int, enqueue: Callable[..., str]
) -> list[str]:
    """Queue ``runs`` manual runs round-robin over the pipelines, all in one transaction; their ids."""
    with session_scope(factory) as session:
        pipelines = [session.get(Pipeline, pid) for pid in pipeline_ids]
        started = []
        for index in range(runs):
            pipeline = pipelines[index % len(pipelines)]
            assert pipeline is not None
            run = run_service.start_run(
                session, pipeline=pipeline, trigger="manual", actor="bench", ref="main", enqueue=enqueue
            )
            started.append(run.id)
        return started


def wait_terminal(
    factory: sessionmaker[Session], run_ids: Sequence[str], *, timeout: float
) -> dict[str, int]:
    """Wait until every run ended (or ``timeout``); return the count of runs per state."""
    deadline = time.monotonic() + timeout
    while True:
        with session_scope(factory) as session:
            rows = session.execute(
                select(PipelineRun.state, func.count())
                .where(PipelineRun.id.in_(run_ids))
                .group_by(PipelineRun.state)
            ).all()
        counts = {state: int(n) for state, n in rows}
        if sum(n for s, n in counts.items() if s in TERMINAL) == len(run_ids) or time.monotonic() > deadline:
            return counts
        time.sleep(0.1)


def run_reasons(factory: sessionmaker[Session], run_ids: Sequence[str]) -> list[str]:
    """Reasons of the runs that did not succeed."""
    with session_scope(factory) as session:
        return list(
            session.scalars(
                select(PipelineRun.reason).where(
                    PipelineRun.id.in_(run_ids), PipelineRun.state != RunState.succeeded.value
                )
            )
        )


def max_overlap(factory: sessionmaker[Session], run_ids: Sequence[str]) -> tuple[int, int]:
    """The most runs that were running at once, overall and on one system (from started/finished times)."""
    with session_scope(factory) as session:
        rows = session.execute(
            select(PipelineRun.system_id, PipelineRun.started_at, PipelineRun.finished_at).where(
                PipelineRun.id.in_(run_ids)
            )
        ).all()
    # (time, +1 start / -1 end, system): at equal times an end comes first, it freed the slot.
    events = sorted(
        [(start, 1, system) for system, start, _ in rows if start]
        + [(end, -1, system) for system, _, end in rows if end]
    )
    running = most = most_one = 0
    per: dict[str, int] = {}
    for _, step, system in events:
        running += step
        per[system] = per.get(system, 0) + step
        most, most_one = max(most, running), max(most_one, per[system])
    return most, most_one


class LogCatcher(logging.Handler):
    """Keeps every record logged anywhere (any thread) while installed, with its traceback text."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        self.lines.append(f"{record.levelname} {record.name}: {text}")

    def matching(self, needle: str) -> list[str]:
        """Lines that contain ``needle`` (case-insensitive)."""
        return [line for line in self.lines if needle.lower() in line.lower()]


@contextmanager
def catching_logs(*names: str) -> Iterator[LogCatcher]:
    """Install a ``LogCatcher`` on the root logger and on ``names`` (which may not propagate)."""
    catcher = LogCatcher()
    loggers = [logging.getLogger(), *(logging.getLogger(name) for name in names)]
    for logger in loggers:
        logger.addHandler(catcher)
    try:
        yield catcher
    finally:
        for logger in loggers:
            logger.removeHandler(catcher)
