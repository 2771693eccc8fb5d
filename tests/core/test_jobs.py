"""The job system, proven with the real auth cleanup and audit retention jobs.

Runs against both queue storages: the embedded SQLite file with a consumer in threads,
and a real redis-server.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.servers.postgres import start_postgres
from tests.servers.redis import start_redis
from timbel.audit.models import AuditEntry
from timbel.auth.models import ApiToken, AuthSession, LoginThrottle, RefreshToken, User
from timbel.core import migrate
from timbel.core.db import create_db_engine, create_session_factory, session_scope, utcnow
from timbel.core.jobs import (
    JobContext,
    JobFailedError,
    JobResultTimeoutError,
    JobRuntime,
    JobSpec,
    crontab,
    job,
    registered_jobs,
)
from timbel.core.metrics import PlatformMetrics
from timbel.core.settings import AuditSettings, Environment, JobSettings, Settings

RESULT_TIMEOUT = 20.0
RETENTION_DAYS = 30

EXPECTED_CLEANUP = {"refresh_tokens": 2, "auth_sessions": 2, "api_tokens": 2, "login_throttles": 2}


def make_settings(tmp_path: Path, *, redis_url: str | None = None, immediate: bool = False) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        env=Environment.test,
        data_dir=tmp_path / "var",
        redis_url=redis_url,
        jobs=JobSettings(workers=2, immediate=immediate),
        audit=AuditSettings(retention_days=RETENTION_DAYS),
    )


def seed(factory: sessionmaker[Session]) -> None:
    """Rows on both sides of every retention boundary; ``keep`` in the key marks survivors."""
    now = utcnow()

    def ago(**delta: float) -> datetime:
        return now - timedelta(**delta)

    def ahead(**delta: float) -> datetime:
        return now + timedelta(**delta)

    with session_scope(factory) as s:
        s.add(User(id="u1", username="alice", password_hash="x"))
        s.flush()
        sessions = {
            "keep-active": dict(expires_at=ahead(days=1)),
            "keep-expired-recently": dict(expires_at=ago(days=1)),
            "keep-revoked-recently": dict(expires_at=ahead(days=5), revoked_at=ago(hours=1)),
            "drop-expired-long-ago": dict(expires_at=ago(days=15)),
            "drop-revoked-long-ago": dict(expires_at=ahead(days=10), revoked_at=ago(days=15)),
        }
        for sid, values in sessions.items():
            s.add(AuthSession(id=sid, user_id="u1", kind="api", **values))
        s.flush()
        refresh = {
            "keep-valid": ("keep-active", ahead(days=1)),
            "keep-expired-within-grace": ("keep-active", ago(hours=1)),
            "drop-expired-past-grace": ("keep-active", ago(days=2)),
            "drop-of-dead-session": ("drop-revoked-long-ago", ahead(days=5)),
        }
        for tid, (sid, expires) in refresh.items():
            s.add(RefreshToken(id=tid, session_id=sid, token_hash=tid, expires_at=expires))
        api_tokens = {
            "keep-valid": dict(expires_at=ahead(days=30)),
            "keep-expired-recently": dict(expires_at=ago(days=10)),
            "keep-revoked-recently": dict(expires_at=ahead(days=60), revoked_at=ago(days=1)),
            "drop-expired-long-ago": dict(expires_at=ago(days=31)),
            "drop-revoked-long-ago": dict(expires_at=ahead(days=60), revoked_at=ago(days=31)),
        }
        for tid, values in api_tokens.items():
            s.add(
                ApiToken(
                    id=tid,
                    user_id="u1",
                    name=tid,
                    token_hash=tid,
                    prefix="tb_",
                    role_ceiling="viewer",
                    **values,
                )
            )
        throttles = {
            "keep-recent": dict(last_failure_at=ago(minutes=10)),
            "keep-stale-but-locked": dict(last_failure_at=ago(hours=2), locked_until=ahead(hours=1)),
            "drop-stale": dict(last_failure_at=ago(hours=2)),
            "drop-stale-lock-over": dict(last_failure_at=ago(hours=2), locked_until=ago(hours=1)),
        }
        for key, values in throttles.items():
            s.add(LoginThrottle(key=key, failures=3, first_failure_at=ago(hours=3), **values))
        for days in (31, 33, 35, 38, 40):
            s.add(AuditEntry(action="old", summary=f"drop-{days}", created_at=ago(days=days)))
        for age in (timedelta(0), timedelta(days=1), timedelta(days=RETENTION_DAYS - 1)):
            s.add(AuditEntry(action="new", summary="keep", created_at=now - age))


def remaining(factory: sessionmaker[Session]) -> dict[str, set[str]]:
    with session_scope(factory) as s:
        return {
            "auth_sessions": set(s.scalars(select(AuthSession.id))),
            "refresh_tokens": set(s.scalars(select(RefreshToken.id))),
            "api_tokens": set(s.scalars(select(ApiToken.id))),
            "login_throttles": set(s.scalars(select(LoginThrottle.key))),
            "audit": set(s.scalars(select(AuditEntry.summary))),
        }


def assert_only_keepers_left(factory: sessionmaker[Session]) -> None:
    left = remaining(factory)
    assert left["auth_sessions"] == {"keep-active", "keep-expired-recently", "keep-revoked-recently"}
    assert left["refresh_tokens"] == {"keep-valid", "keep-expired-within-grace"}
    assert left["api_tokens"] == {"keep-valid", "keep-expired-recently", "keep-revoked-recently"}
    assert left["login_throttles"] == {"keep-recent", "keep-stale-but-locked"}
    assert left["audit"] == {"keep"}


def job_count(metrics: PlatformMetrics, job_name: str, outcome: str) -> float:
    value = metrics.registry.get_sample_value("timbel_jobs_total", {"job": job_name, "outcome": outcome})
    return value or 0.0


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


@pytest.fixture(params=["sqlite", "redis"])
def queue_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings for each queue storage: SQLite file in the data dir, or the real Redis server."""
    if request.param == "sqlite":
        return make_settings(tmp_path)
    server = request.getfixturevalue("redis_server")
    return make_settings(tmp_path, redis_url=server.url)


@pytest.fixture
def metrics() -> PlatformMetrics:
    return PlatformMetrics()


@pytest.fixture
def runtime(
    queue_settings: Settings, session_factory: sessionmaker[Session], metrics: PlatformMetrics
) -> Iterator[JobRuntime]:
    # A queue name per test keeps tests apart on the shared Redis server.
    runtime = JobRuntime(queue_settings, session_factory, metrics, queue_name=f"t{time.monotonic_ns()}")
    try:
        yield runtime
    finally:
        runtime.close()


class TestJobsRunOnAConsumer:
    def test_cleanup_and_prune_delete_only_what_retention_allows(
        self, runtime: JobRuntime, session_factory: sessionmaker[Session], metrics: PlatformMetrics
    ) -> None:
        seed(session_factory)
        handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        # No scheduler: a periodic cleanup due this minute (:00, :15, …) would race the enqueued one.
        runtime.start_consumer(periodic=False)
        assert runtime.consumer_running
        assert {sig: signal.getsignal(sig) for sig in handlers} == handlers  # the host keeps its signals

        cleanup_id = runtime.enqueue("auth.cleanup_expired")
        prune_id = runtime.enqueue("audit.prune", batch_size=2)
        assert cleanup_id != prune_id

        assert runtime.result(cleanup_id, blocking=True, timeout=RESULT_TIMEOUT) == EXPECTED_CLEANUP
        pruned = runtime.result(prune_id, blocking=True, timeout=RESULT_TIMEOUT)
        assert pruned is not None
        assert (pruned["deleted"], pruned["batches"]) == (5, 3)  # 2 + 2 + 1
        assert_only_keepers_left(session_factory)

        # Idempotent: a second delivery finds nothing more to delete.
        again = runtime.enqueue("auth.cleanup_expired")
        nothing_left = dict.fromkeys(EXPECTED_CLEANUP, 0)
        assert runtime.result(again, blocking=True, timeout=RESULT_TIMEOUT) == nothing_left
        assert_only_keepers_left(session_factory)

        wait_for(lambda: job_count(metrics, "auth.cleanup_expired", "succeeded") == 2)
        assert job_count(metrics, "auth.cleanup_expired", "enqueued") == 2
        assert job_count(metrics, "audit.prune", "enqueued") == 1
        wait_for(lambda: job_count(metrics, "audit.prune", "succeeded") == 1)
        assert job_count(metrics, "auth.cleanup_expired", "failed") == 0

        runtime.stop_consumer()
        assert not runtime.consumer_running

    def test_a_failing_job_reports_its_error_and_counts_as_failed(
        self, queue_settings: Settings, session_factory: sessionmaker[Session], metrics: PlatformMetrics
    ) -> None:
        def explode(ctx: JobContext, *, system_id: str) -> dict[str, Any]:
            raise RuntimeError(f"cannot reach system {system_id} (job {ctx.job_id})")

        jobs = {"tests.explode": JobSpec("tests.explode", explode)}
        runtime = JobRuntime(queue_settings, session_factory, metrics, queue_name="explode", jobs=jobs)
        try:
            runtime.start_consumer(workers=1, periodic=False)
            task_id = runtime.enqueue("tests.explode", system_id="sys-42")
            expected = f"cannot reach system sys-42 \\(job {task_id}\\)"
            with pytest.raises(JobFailedError, match=expected) as info:
                runtime.result(task_id, blocking=True, timeout=RESULT_TIMEOUT)
            assert "RuntimeError" in info.value.traceback
            wait_for(lambda: job_count(metrics, "tests.explode", "failed") == 1)
            assert job_count(metrics, "tests.explode", "succeeded") == 0
        finally:
            runtime.close()

    def test_arguments_named_like_huey_options_reach_the_job(
        self, queue_settings: Settings, session_factory: sessionmaker[Session]
    ) -> None:
        def echo(ctx: JobContext, **kwargs: Any) -> dict[str, Any]:
            return {"kwargs": kwargs, "job_id": ctx.job_id}

        jobs = {"tests.echo": JobSpec("tests.echo", echo)}
        runtime = JobRuntime(queue_settings, session_factory, queue_name="echo", jobs=jobs)
        try:
            runtime.start_consumer(workers=1, periodic=False)
            arguments = {"id": "run-7", "priority": 3, "timeout": 5, "delay": 1, "retries": 2}
            task_id = runtime.enqueue("tests.echo", **arguments)
            result = runtime.result(task_id, blocking=True, timeout=RESULT_TIMEOUT)
            assert result == {"kwargs": arguments, "job_id": task_id}
        finally:
            runtime.close()

    def test_unread_results_are_pruned_after_their_ttl(self, runtime: JobRuntime) -> None:
        runtime.start_consumer(workers=1, periodic=False)
        task_id = runtime.enqueue("auth.cleanup_expired")
        runtime.result(task_id, blocking=True, timeout=RESULT_TIMEOUT, preserve=True)
        runtime.huey.put("some.lock.key", "1")  # not a result: never pruned

        assert runtime.prune_results() == 0  # younger than the TTL
        assert runtime.prune_results(max_age_seconds=-1) == 1
        assert runtime.result(task_id) is None
        assert runtime.huey.get("some.lock.key", peek=True) == "1"

    def test_waiting_for_a_result_times_out_without_a_consumer(self, runtime: JobRuntime) -> None:
        task_id = runtime.enqueue("audit.prune")
        assert runtime.result(task_id) is None
        with pytest.raises(JobResultTimeoutError):
            runtime.result(task_id, blocking=True, timeout=0.2)


class TestImmediateMode:
    def test_jobs_run_on_enqueue_and_no_consumer_starts(
        self, tmp_path: Path, session_factory: sessionmaker[Session], metrics: PlatformMetrics
    ) -> None:
        runtime = JobRuntime(make_settings(tmp_path, immediate=True), session_factory, metrics)
        try:
            seed(session_factory)
            runtime.start_consumer()
            assert not runtime.consumer_running
            assert runtime.result(runtime.enqueue("auth.cleanup_expired")) == EXPECTED_CLEANUP
            pruned = runtime.result(runtime.enqueue("audit.prune"))
            assert pruned is not None
            assert pruned["deleted"] == 5
            assert_only_keepers_left(session_factory)
            assert job_count(metrics, "audit.prune", "succeeded") == 1
            assert runtime.ping()
            with pytest.raises(RuntimeError, match="immediately"):
                runtime.run_worker()
        finally:
            runtime.close()


class TestPeriodicJobs:
    def test_maintenance_jobs_are_periodic_tasks_on_the_huey_instance(self, runtime: JobRuntime) -> None:
        def due(at: datetime) -> set[str]:
            return {task.job_name for task in runtime.huey.read_periodic(at)}

        every_minute = {
            "analysis.reconcile",
            "webhooks.reconcile",
            "notifications.reconcile",
            "pipelines.reconcile",
            "pipelines.schedule",
            "deployments.reconcile",
            "deployments.expire_approvals",
        }
        health = "integrations.health"  # every 5 minutes
        assert due(datetime(2025, 3, 3, 3, 30)) == {
            "auth.cleanup_expired",
            "audit.prune",
            "integrations.retention",
            *every_minute,
            health,
        }
        assert due(datetime(2025, 3, 3, 10, 45)) == {"auth.cleanup_expired", *every_minute, health}
        assert due(datetime(2025, 3, 3, 3, 31)) == every_minute
        # the runtime's own housekeeping
        assert due(datetime(2025, 3, 3, 3, 7)) == {"jobs.prune_results", *every_minute}
        assert due(datetime(2025, 3, 3, 11, 17)) == {"pipelines.cleanup_workspaces", *every_minute}

    def test_a_periodic_run_does_the_work(
        self, runtime: JobRuntime, session_factory: sessionmaker[Session]
    ) -> None:
        seed(session_factory)
        for task in runtime.huey.read_periodic(datetime(2025, 3, 3, 3, 30)):
            runtime.huey.execute(task)
        assert_only_keepers_left(session_factory)


class TestProducing:
    def test_unknown_job_name_is_a_clear_error(self, runtime: JobRuntime) -> None:
        expected = r"unknown job 'catalog\.nothing'; registered jobs: .*audit\.prune"
        with pytest.raises(ValueError, match=expected):
            runtime.enqueue("catalog.nothing")

    def test_arguments_must_be_json_values(self, runtime: JobRuntime) -> None:
        with pytest.raises(ValueError, match="must be JSON values"):
            runtime.enqueue("audit.prune", batch_size=object())
        with pytest.raises(ValueError, match="reserved"):
            runtime.enqueue("audit.prune", task="x")

    def test_declarations_are_checked(self) -> None:
        with pytest.raises(ValueError, match="dotted lowercase"):
            job("NoDomain")
        with pytest.raises(ValueError, match="already declared"):

            @job("audit.prune", periodic=crontab(minute="0"))
            def prune(ctx: JobContext) -> dict[str, Any]:
                return {}

        assert registered_jobs()["audit.prune"].func.__module__ == "timbel.audit.jobs"
        with pytest.raises(ValueError, match="not a valid input"):
            crontab(minute="61")


class TestPing:
    def test_sqlite_queue_answers(self, tmp_path: Path, session_factory: sessionmaker[Session]) -> None:
        runtime = JobRuntime(make_settings(tmp_path), session_factory)
        try:
            assert runtime.ping()
            assert (tmp_path / "var" / "jobs.db").is_file()
        finally:
            runtime.close()

    def test_redis_queue_answers_until_the_server_stops(
        self, tmp_path: Path, session_factory: sessionmaker[Session]
    ) -> None:
        server = start_redis(tmp_path / "own-redis")
        runtime = JobRuntime(make_settings(tmp_path, redis_url=server.url), session_factory)
        try:
            assert runtime.ping()
            server.stop()
            started = time.monotonic()
            assert not runtime.ping()
            assert time.monotonic() - started < 3.0
        finally:
            server.stop()
            runtime.close()


@pytest.mark.postgres
def test_jobs_run_against_postgresql(tmp_path: Path) -> None:
    """The bulk deletes (including DELETE … IN (SELECT … LIMIT)) also work on PostgreSQL."""
    server = start_postgres(tmp_path)
    engine = create_db_engine(server.url)
    runtime: JobRuntime | None = None
    try:
        migrate.upgrade(engine)
        factory = create_session_factory(engine)
        runtime = JobRuntime(make_settings(tmp_path, immediate=True), factory)
        seed(factory)
        assert runtime.result(runtime.enqueue("auth.cleanup_expired")) == EXPECTED_CLEANUP
        pruned = runtime.result(runtime.enqueue("audit.prune", batch_size=2))
        assert pruned is not None
        assert (pruned["deleted"], pruned["batches"]) == (5, 3)
        assert_only_keepers_left(factory)
    finally:
        if runtime is not None:
            runtime.close()
        engine.dispose()
        server.stop()
