"""Local runner overhead per stage: 10 trivial stages through the real service (a benchmark, not a test).

Each run goes the whole way a user's run goes, in one process on an embedded SQLite database: queued by
``run_service.start_run``, dispatched and executed by the ``pipelines.*`` jobs (immediate mode), stage
states, heartbeats and log lines written through ``DbRunEvents`` and the log store, the checkout from a
local repository mirror into a per-run workspace, every stage run by ``/bin/sh -e -c`` in its own
process group with limits. Compared with:

- the same pipeline with no stages but the checkout (so the checkout's cost is taken out), and
- the same 10 commands as bare ``subprocess.run(["/bin/sh", "-e", "-c", cmd])``.

Per-stage overhead = (median full run − median checkout-only run) / 10 − median bare command.
Target: ≤ 50 ms per stage. ``--profile`` writes a cProfile of one full run (top entries printed).

Run from the repository root::

    .venv/bin/python bench/engine_overhead.py            # 15 runs of each
    .venv/bin/python bench/engine_overhead.py --runs 30 --profile
"""

from __future__ import annotations

import argparse
import cProfile
import io
import platform
import pstats
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "src"))

from sqlalchemy import select  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402
from tests.pipelines.test_burst_support import make_pipelines, make_repo, stages, start_runs  # noqa: E402

import timbel.pipelines.run_job  # noqa: E402,F401  (declares the pipelines.* jobs)
from timbel.audit.service import AuditContext  # noqa: E402
from timbel.catalog.models import Domain, System  # noqa: E402
from timbel.core import migrate  # noqa: E402
from timbel.core.db import create_db_engine, create_session_factory, session_scope  # noqa: E402
from timbel.core.jobs import JobRuntime  # noqa: E402
from timbel.core.settings import Environment, JobSettings, LogSettings, Settings, prepare_settings  # noqa: E402
from timbel.pipelines import pipeline_service  # noqa: E402
from timbel.pipelines.engines import EngineContext, register_engine  # noqa: E402
from timbel.pipelines.engines.local import DEFAULT_MEMORY_BYTES, LocalEngine  # noqa: E402
from timbel.pipelines.run_models import PipelineRun, StageRun  # noqa: E402

COMMANDS = ["true", "echo x"] * 5
ENGINE = "local-bench"


def _engine(ctx: EngineContext) -> LocalEngine:
    """The local runner as shipped (default pacing and memory limit), file repositories allowed."""
    return LocalEngine(allow_local=True, builder=None, memory_limit_bytes=DEFAULT_MEMORY_BYTES)


def _one_run(factory: sessionmaker[Session], runtime: JobRuntime, pipeline_id: str) -> float:
    """Queue one run and return its wall time (immediate jobs: it has ended when start_runs returns)."""
    begun = time.perf_counter()
    (run_id,) = start_runs(factory, pipeline_ids=[pipeline_id], runs=1, enqueue=runtime.enqueue)
    elapsed = time.perf_counter() - begun
    with session_scope(factory) as session:
        run = session.get(PipelineRun, run_id)
        assert run is not None and run.state == "succeeded", (run and run.state, run and run.reason)
    return elapsed


def _bare(runs: int) -> list[float]:
    """Wall time of the 10 commands as bare subprocesses, per command."""
    times = []
    for _ in range(runs):
        begun = time.perf_counter()
        for command in COMMANDS:
            subprocess.run(["/bin/sh", "-e", "-c", command], check=True, capture_output=True)
        times.append((time.perf_counter() - begun) / len(COMMANDS))
    return times


def _stage_walls(factory: sessionmaker[Session]) -> list[float]:
    """started → finished of every command stage recorded (seconds)."""
    with session_scope(factory) as session:
        rows = session.execute(
            select(StageRun.started_at, StageRun.finished_at).where(StageRun.index > 0)
        ).all()
    return [(end - start).total_seconds() for start, end in rows if start and end]


def _machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    load = Path("/proc/loadavg").read_text().split()[:3]
    return (
        f"{subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()} CPUs, {cpu}, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, load {' '.join(load)}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    register_engine(ENGINE, _engine)
    with tempfile.TemporaryDirectory(prefix="timbel-bench-") as tmp:
        root = Path(tmp)
        url = f"sqlite:///{root / 'timbel.db'}"
        db = create_db_engine(url)
        migrate.upgrade(db)
        factory = create_session_factory(db)
        settings = prepare_settings(
            Settings(
                env=Environment.test,
                data_dir=root / "var",
                database_url=url,
                jobs=JobSettings(immediate=True, embedded_consumer=False),
                log=LogSettings(access=False),
            )
        )
        runtime = JobRuntime(settings, factory)
        make_repo(root / "repo")
        full_id, *_ = make_pipelines(
            factory, repo_url=str(root / "repo"), engine=ENGINE, count=1, commands=COMMANDS
        )
        with session_scope(factory) as session:  # a second system in the same domain: checkout only
            domain = session.scalars(select(Domain)).one()
            system = System(domain_id=domain.id, slug="checkout-only", name="c", repo_url=str(root / "repo"))
            session.add(system)
            session.flush()
            ctx = AuditContext(actor_name="bench")
            pipeline = pipeline_service.create_for_system(
                session, system=system, ctx=ctx, template_key="python-fastapi", engine=ENGINE
            )
            pipeline_service.update(session, pipeline=pipeline, data={"stages": stages()}, ctx=ctx)
            checkout_id = pipeline.id
        _one_run(factory, runtime, full_id)  # warm: mirror cloned, imports done
        _one_run(factory, runtime, checkout_id)
        with session_scope(factory) as session:
            session.query(StageRun).delete()
        full, checkout = [], []
        for _ in range(args.runs):
            full.append(_one_run(factory, runtime, full_id))
            checkout.append(_one_run(factory, runtime, checkout_id))
        walls = _stage_walls(factory)
        bare = _bare(args.runs)
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            _one_run(factory, runtime, full_id)
            profiler.disable()
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
            print(out.getvalue())
        runtime.close()
        db.dispose()
    med_full, med_checkout, med_bare = (statistics.median(x) for x in (full, checkout, bare))
    per_stage = (med_full - med_checkout) / len(COMMANDS)
    overhead = per_stage - med_bare
    print(f"machine: {_machine()}")
    print(f"runs: {args.runs} of each; stages: {len(COMMANDS)} ({', '.join(sorted(set(COMMANDS)))})")
    print(
        f"full run (checkout + 10 stages), median: {med_full * 1000:.0f} ms "
        f"(min {min(full) * 1000:.0f}, max {max(full) * 1000:.0f})"
    )
    print(f"checkout-only run, median: {med_checkout * 1000:.0f} ms")
    print(
        f"per stage through the runner: {per_stage * 1000:.1f} ms; "
        f"recorded stage started→finished, median: {statistics.median(walls) * 1000:.1f} ms"
    )
    print(f"bare subprocess per command, median: {med_bare * 1000:.1f} ms")
    verdict = "met" if overhead <= 0.05 else "NOT met"
    print(f"overhead per stage: {overhead * 1000:.1f} ms (target ≤ 50 ms): {verdict}")
    return 0 if overhead <= 0.05 else 1


if __name__ == "__main__":
    sys.exit(main())
