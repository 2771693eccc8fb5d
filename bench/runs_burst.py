"""Wall time for 100 pipeline runs queued at once (a benchmark; the test is tests/pipelines/test_burst.py).

Everything real in one process: ``--runs`` manual runs of ``--systems`` pipelines (checkout + ``true`` +
``echo x``) queued in one transaction, a huey consumer (SQLite queue file, ``--workers`` threads)
dispatching within the global limit ``--limit`` (``--per-system`` per system) and executing them on the
local runner (file repository, shared mirror, per-run workspaces). Reported: wall time from queueing to
the last run's end, runs/s, and any "database is locked" (or other ERROR) log lines; exits non-zero when a
run did not succeed or such a line appeared.

Run from the repository root::

    .venv/bin/python bench/runs_burst.py                          # embedded SQLite
    .venv/bin/python bench/runs_burst.py --database postgresql    # a throwaway PostgreSQL (tests/servers)
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "src"))

from tests.pipelines.test_burst_support import (  # noqa: E402
    catching_logs,
    make_pipelines,
    make_repo,
    max_overlap,
    run_reasons,
    start_runs,
    wait_terminal,
)

import timbel.pipelines.run_job  # noqa: E402,F401  (declares the pipelines.* jobs)
from timbel.core import migrate  # noqa: E402
from timbel.core.db import create_db_engine, create_session_factory  # noqa: E402
from timbel.core.jobs import JobRuntime  # noqa: E402
from timbel.core.settings import (  # noqa: E402
    Environment,
    JobSettings,
    LogSettings,
    PipelinesSettings,
    Settings,
    prepare_settings,
)
from timbel.pipelines.engines import register_engine  # noqa: E402
from timbel.pipelines.engines.local import LocalEngine  # noqa: E402

ENGINE = "local-bench"


@contextlib.contextmanager
def _database(kind: str, root: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{root / 'timbel.db'}"
        return
    from tests.servers.postgres import start_postgres

    server = start_postgres(root / "pg")
    try:
        yield server.url
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--systems", type=int, default=10)
    parser.add_argument("--limit", type=int, default=4)
    parser.add_argument("--per-system", type=int, default=2)
    parser.add_argument("--workers", type=int, default=6)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    register_engine(ENGINE, lambda ctx: LocalEngine(allow_local=True, builder=None))
    with (
        tempfile.TemporaryDirectory(prefix="timbel-burst-") as tmp,
        _database(args.database, Path(tmp)) as url,
    ):
        root = Path(tmp)
        db = create_db_engine(url)
        migrate.upgrade(db)
        factory = create_session_factory(db)
        settings = prepare_settings(
            Settings(
                env=Environment.test,
                data_dir=root / "var",
                database_url=url,
                log=LogSettings(access=False),
                jobs=JobSettings(immediate=False, embedded_consumer=True, workers=args.workers),
                pipelines=PipelinesSettings(
                    max_concurrent_runs=args.limit, max_concurrent_per_system=args.per_system
                ),
            )
        )
        runtime = JobRuntime(settings, factory)
        make_repo(root / "repo")
        pipelines = make_pipelines(
            factory,
            repo_url=str(root / "repo"),
            engine=ENGINE,
            count=args.systems,
            commands=["true", "echo x"],
        )
        runtime.start_consumer(periodic=False)
        with catching_logs("timbel", "huey") as caught:
            begun = time.perf_counter()
            run_ids = start_runs(factory, pipeline_ids=pipelines, runs=args.runs, enqueue=runtime.enqueue)
            queued = time.perf_counter() - begun
            counts = wait_terminal(factory, run_ids, timeout=600)
            elapsed = time.perf_counter() - begun
        runtime.close()
        problems = run_reasons(factory, run_ids)
        most, most_one = max_overlap(factory, run_ids)
        db.dispose()
    locked = caught.matching("database is locked")
    errors = [line for line in caught.lines if line.startswith(("ERROR", "CRITICAL"))]
    print(
        f"database: {args.database}; {args.runs} runs over {args.systems} systems; limit {args.limit} "
        f"({args.per_system} per system); {args.workers} consumer threads"
    )
    rate = args.runs / elapsed
    print(f"queued in {queued * 1000:.0f} ms; all ended after {elapsed:.1f} s ({rate:.1f} runs/s)")
    print(f"most running at once: {most} (one system: {most_one})")
    print(f"states: {counts}; 'database is locked' lines: {len(locked)}; ERROR lines: {len(errors)}")
    for line in problems[:3] + errors[:3]:
        print("  " + line.splitlines()[0])
    within = most <= args.limit and most_one <= args.per_system
    ok = counts == {"succeeded": args.runs} and not locked and not errors and within
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
