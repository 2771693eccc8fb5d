"""A worker killed mid-stage: the run ends ``failed`` ("runner lost …") once its heartbeat is stale, a
retry succeeds on the restarted worker, and no process of the killed stage is left running.

Real processes: ``timbel worker`` on Redis (SIGKILLed, then started again), a SQLite database shared
with this test (the producer side: start, reconcile tick, retry), the local runner cloning over git smart
HTTP from a loopback server. The reconciler's periodic tick (once a minute) is replaced by enqueueing
``pipelines.reconcile`` to the restarted worker, and the heartbeat timeout is 6 s, so the test is short.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.pipelines.test_burst_support import make_pipelines, make_repo, wait_terminal
from tests.servers.git_http import GitHttpServer, start_git_http
from tests.servers.redis import RedisServer, start_redis
from timbel.audit.service import AuditContext
from timbel.core import migrate
from timbel.core.db import create_db_engine, create_session_factory, session_scope
from timbel.core.jobs import JobRuntime
from timbel.core.settings import Environment, PipelinesSettings, Settings, prepare_settings
from timbel.pipelines import run_service
from timbel.pipelines.run_models import Pipeline, PipelineRun, StageRun

TIMBEL = str(Path(sys.executable).with_name("timbel"))
STALE_SECONDS = 6
# The first run sleeps in its stage (to be killed there); its retry (run #2) passes straight through.
SLEEPY = '[ "$TIMBEL_RUN_NUMBER" != 1 ] || sleep 30'


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RedisServer, GitHttpServer]]:
    """Redis for the job queue and a git smart-HTTP server, for the module."""
    redis = start_redis(tmp_path_factory.mktemp("redis"))
    try:
        git = start_git_http(tmp_path_factory.mktemp("git-http"))
        try:
            yield redis, git
        finally:
            git.stop()
    finally:
        redis.stop()


class Worker:
    """``timbel worker`` as its own process (own session, so the test signals only it, by PID)."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env, self.cwd = env, cwd
        self.process: subprocess.Popen[bytes] | None = None
        self.log = cwd / "worker.log"

    def start(self) -> int:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [TIMBEL, "worker", "--workers", "2", "--no-scheduler"],
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self.process.pid

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def _processes_of_run(run_id: str) -> dict[int, int]:
    """Live processes (pid → process group) whose environment says they belong to ``run_id``."""
    needle = f"TIMBEL_RUN_ID={run_id}".encode()
    found: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            environ = Path(entry.path, "environ").read_bytes()
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        if needle in environ.split(b"\0") and fields[0] not in ("Z", "X"):
            found[int(entry.name)] = int(fields[2])
    return found


def _wait(predicate: object, *, timeout: float, what: str, step: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(step)


def _stage_running(factory: sessionmaker[Session], run_id: str) -> bool:
    with session_scope(factory) as session:
        state = session.scalar(select(StageRun.state).where(StageRun.run_id == run_id, StageRun.index == 1))
        return state == "running"


def _run(factory: sessionmaker[Session], run_id: str) -> PipelineRun:
    with session_scope(factory) as session:
        run = session.get(PipelineRun, run_id)
        assert run is not None
        session.expunge(run)
        return run


@dataclass
class LostRun:
    """A run whose worker was SIGKILLed mid-stage and which the reconciler has since ended."""

    factory: sessionmaker[Session]
    producer: JobRuntime
    run_id: str
    stage_groups: set[int]


@pytest.fixture
def lost_run(tmp_path: Path, servers: tuple[RedisServer, GitHttpServer]) -> Iterator[LostRun]:
    """Start a run on a real worker, SIGKILL the worker mid-stage, restart it, tick the reconciler until
    the run is no longer running."""
    redis, git = servers
    name = f"durable{len(list(git.root.glob('*.git')))}"
    make_repo(tmp_path / "repo")
    git.add_repo(name, tmp_path / "repo")
    data_dir = tmp_path / "var"
    database_url = f"sqlite:///{tmp_path / 'timbel.db'}"
    engine = create_db_engine(database_url)
    migrate.upgrade(engine)
    factory = create_session_factory(engine)
    pipelines = PipelinesSettings(heartbeat_stale_seconds=STALE_SECONDS)
    settings = prepare_settings(
        Settings(
            env=Environment.test,
            data_dir=data_dir,
            database_url=database_url,
            redis_url=redis.url,
            pipelines=pipelines,
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIMBEL_")}
    env.update(
        TIMBEL_ENV="test",
        TIMBEL_DATA_DIR=str(data_dir),
        TIMBEL_DATABASE_URL=database_url,
        TIMBEL_REDIS_URL=redis.url,
        TIMBEL_PIPELINES__HEARTBEAT_STALE_SECONDS=str(STALE_SECONDS),
        TIMBEL_ANALYSIS__ALLOWED_HOSTS='["127.0.0.1/32"]',  # the git server is on loopback, refused otherwise
    )
    worker = Worker(env, tmp_path)
    producer = JobRuntime(settings, factory)
    producer.huey.flush()  # nothing left over from another test on this Redis
    run_id = ""
    try:
        (pipeline_id,) = make_pipelines(
            factory, repo_url=git.url_for(name), engine="local", count=1, commands=[SLEEPY]
        )
        with session_scope(factory) as session:
            pipeline = session.get(Pipeline, pipeline_id)
            assert pipeline is not None
            run_id = run_service.start_run(
                session, pipeline=pipeline, trigger="manual", actor="t", ref="main", enqueue=producer.enqueue
            ).id
        first_pid = worker.start()
        _wait(lambda: _stage_running(factory, run_id), timeout=30, what="the sleeping stage to start")
        _wait(lambda: bool(_processes_of_run(run_id)), timeout=5, what="the stage process")
        stage_groups = set(_processes_of_run(run_id).values())
        assert first_pid not in stage_groups  # the stage runs in its own process group

        worker.kill()
        assert _run(factory, run_id).state == "running"  # nobody has noticed yet
        worker.start()

        def reconciled() -> bool:
            producer.enqueue("pipelines.reconcile")  # the periodic tick, sooner
            return _run(factory, run_id).state != "running"

        _wait(reconciled, timeout=STALE_SECONDS + 15, what="the reconciler to end the lost run", step=1.0)
        yield LostRun(factory, producer, run_id, stage_groups)
    finally:
        worker.stop()
        for pid in _processes_of_run(run_id) if run_id else {}:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)  # an orphan of our own run, by PID
        producer.close()
        engine.dispose()


def test_a_killed_worker_fails_the_run_as_runner_lost_and_a_retry_succeeds(lost_run: LostRun) -> None:
    factory, run_id = lost_run.factory, lost_run.run_id
    lost = _run(factory, run_id)
    assert lost.state == "failed"
    assert lost.reason.startswith("runner lost"), lost.reason
    with session_scope(factory) as session:
        old = session.get(PipelineRun, run_id)
        assert old is not None
        retry_id = run_service.retry_run(
            session, run=old, ctx=AuditContext(actor_name="t"), enqueue=lost_run.producer.enqueue
        ).id
    assert wait_terminal(factory, [retry_id], timeout=20) == {"succeeded": 1}, _run(factory, retry_id).reason
    assert _run(factory, retry_id).retry_of_id == run_id


def test_no_process_of_the_killed_stage_outlives_the_lost_run(lost_run: LostRun) -> None:
    """The stage ran in its own process group, so the worker's death does not take it along: once the run
    is declared lost, nothing of that group may keep running (it would hold CPU, files, ports)."""
    assert _run(lost_run.factory, lost_run.run_id).state == "failed"
    groups = sorted(lost_run.stage_groups)
    _wait(
        lambda: not _processes_of_run(lost_run.run_id),
        timeout=5,
        what=f"the killed worker's stage processes (groups {groups}) to be gone",
    )
