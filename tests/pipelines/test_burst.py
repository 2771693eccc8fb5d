"""100 runs queued at once all finish, through a real job consumer and the real local runner, with no
"database is locked" anywhere (run it on SQLite and with TIMBEL_TEST_DATABASE=postgresql)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

import timbel.pipelines.run_job  # noqa: F401  (declares the pipelines.* jobs)
from tests.pipelines.test_burst_support import (
    catching_logs,
    make_pipelines,
    make_repo,
    max_overlap,
    run_reasons,
    start_runs,
    wait_terminal,
)
from timbel.core.jobs import JobRuntime
from timbel.core.settings import JobSettings, PipelinesSettings
from timbel.pipelines.engines import EngineContext, register_engine, unregister_engine
from timbel.pipelines.engines.local import LocalEngine
from timbel.pipelines.engines.local_process import Pacing

ENGINE = "local-burst"
RUNS = 100
LIMIT = 4
PER_SYSTEM = 2


@pytest.fixture
def burst_engine() -> Iterator[str]:
    """The real local runner, file repositories allowed, registered for the test."""

    def factory(ctx: EngineContext) -> LocalEngine:
        return LocalEngine(allow_local=True, builder=None, pacing=Pacing(heartbeat_seconds=1.0))

    register_engine(ENGINE, factory)
    try:
        yield ENGINE
    finally:
        unregister_engine(ENGINE)


@pytest.fixture
def consumer(app: FastAPI) -> Iterator[JobRuntime]:
    """A queued (not immediate) job runtime with an in-process consumer; limits 4 in all, 2 per system."""
    settings = app.state.settings.model_copy(
        update={
            "jobs": JobSettings(immediate=False, embedded_consumer=True, workers=LIMIT + 2),
            "pipelines": PipelinesSettings(max_concurrent_runs=LIMIT, max_concurrent_per_system=PER_SYSTEM),
        }
    )
    runtime = JobRuntime(settings, app.state.session_factory)
    runtime.start_consumer(periodic=False)
    try:
        yield runtime
    finally:
        runtime.close()


def test_100_runs_queued_at_once_all_succeed_without_lock_errors(
    app: FastAPI, tmp_path: Path, burst_engine: str, consumer: JobRuntime
) -> None:
    make_repo(tmp_path / "repo")
    factory = app.state.session_factory
    pipelines = make_pipelines(
        factory, repo_url=str(tmp_path / "repo"), engine=burst_engine, count=10, commands=["true", "echo x"]
    )
    with catching_logs("timbel", "huey") as caught:
        begun = time.monotonic()
        run_ids = start_runs(factory, pipeline_ids=pipelines, runs=RUNS, enqueue=consumer.enqueue)
        counts = wait_terminal(factory, run_ids, timeout=50)
        elapsed = time.monotonic() - begun
    assert counts == {"succeeded": RUNS}, (counts, run_reasons(factory, run_ids)[:5])
    most, most_one_system = max_overlap(factory, run_ids)
    assert 2 <= most <= LIMIT and most_one_system <= PER_SYSTEM  # runs overlapped, within the limits
    assert caught.matching("database is locked") == []
    assert caught.matching("deadlock") == []
    errors = [line for line in caught.lines if line.startswith(("ERROR", "CRITICAL"))]
    assert errors == [], errors[:3]
    print(f"{RUNS} runs in {elapsed:.1f} s on {app.state.engine.dialect.name}")
