"""Background jobs on Huey: declared at import time, bound to a queue at start time.

Why two halves: domain modules declare their jobs with ``@job(...)`` without knowing
where they will run; :class:`JobRuntime` binds every declared job to one Huey instance
built from the settings when the app or worker starts (SQLite file in the data
directory for the embedded mode, Redis at scale). Nothing reads settings at import
time, and tests can build as many isolated runtimes as they need.

Contract for a job function: ``fn(ctx: JobContext, **kwargs) -> dict`` where the
kwargs are JSON values (ids, not objects), the function opens its own session with
``session_scope(ctx.session_factory)``, is idempotent (a message may be delivered twice,
a periodic job may run once per worker process) and returns a JSON-able dict.
"""

from __future__ import annotations

import importlib
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast

import redis
from huey import RedisHuey, SqliteHuey
from huey import crontab as huey_crontab
from huey import signals as huey_signals
from huey.consumer import Consumer
from huey.exceptions import ResultTimeout, TaskException
from huey.storage import RedisStorage, SqliteStorage

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from timbel.core.metrics import PlatformMetrics
    from timbel.core.settings import Settings

logger = logging.getLogger(__name__)

JOB_MODULES = (
    "timbel.auth.jobs",
    "timbel.audit.jobs",
    "timbel.analysis.jobs",
    "timbel.integrations.jobs",
    "timbel.integrations.retention_jobs",
    "timbel.notifications.jobs",
    "timbel.pipelines.run_job",
    "timbel.webhooks.jobs",
    "timbel.deployments.jobs",
    "timbel.deployments.approval_jobs",
    "timbel.deployments.releases",
)
TASK_NAMESPACE = "timbel"  # huey's task identifier is "<namespace>.<job name>"
SQLITE_QUEUE_FILE = "jobs.db"
PERIODIC_SUFFIX = "@periodic"
RESULT_TTL_SECONDS = 24 * 3600  # results nobody read are dropped by the hourly "jobs.prune_results"
PRUNE_RESULTS_JOB = "jobs.prune_results"

Schedule = Callable[[datetime], bool]
JobFunction = Callable[..., dict[str, Any]]
F = TypeVar("F", bound=JobFunction)

_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
_TASK_ID_PATTERN = re.compile(r"^(\d{10})-[0-9a-f]{32}$")
_OUTCOMES = {
    huey_signals.SIGNAL_ENQUEUED: "enqueued",
    huey_signals.SIGNAL_COMPLETE: "succeeded",
    huey_signals.SIGNAL_ERROR: "failed",
    huey_signals.SIGNAL_TIMEOUT: "failed",
    huey_signals.SIGNAL_INTERRUPTED: "failed",
}


@dataclass(frozen=True, slots=True)
class JobContext:
    """What a running job gets besides its arguments."""

    settings: Settings
    session_factory: sessionmaker[Session]
    job_id: str
    enqueue: Callable[..., str]


@dataclass(frozen=True, slots=True)
class JobSpec:
    """One declared job: its name, function, optional schedule and retry policy."""

    name: str
    func: JobFunction
    periodic: Schedule | None = None
    retries: int = 0
    retry_delay: int = 0


class JobFailedError(RuntimeError):
    """A job raised; carries the job's error text and traceback from the worker."""

    def __init__(self, task_id: str, error: str, traceback: str = "") -> None:
        super().__init__(f"job {task_id} failed: {error}")
        self.task_id = task_id
        self.error = error
        self.traceback = traceback


class JobResultTimeoutError(TimeoutError):
    """No result arrived within the wait time."""


_REGISTRY: dict[str, JobSpec] = {}


def job(
    name: str, *, periodic: Schedule | None = None, retries: int = 0, retry_delay: int = 0
) -> Callable[[F], F]:
    """Declare a job under a dotted name (``domain.verb``), optionally run on a schedule (UTC)."""
    if not _NAME_PATTERN.match(name):
        raise ValueError(f"job name {name!r} must be dotted lowercase, e.g. 'auth.cleanup_expired'")

    def decorator(func: F) -> F:
        existing = _REGISTRY.get(name)
        if existing is not None and _origin(existing.func) != _origin(func):
            raise ValueError(f"job {name!r} is already declared by {'.'.join(_origin(existing.func))}")
        _REGISTRY[name] = JobSpec(name, func, periodic, retries, retry_delay)
        return func

    return decorator


def _origin(func: Callable[..., Any]) -> tuple[str, str]:
    return func.__module__, func.__qualname__


def crontab(
    minute: str = "*", hour: str = "*", day: str = "*", month: str = "*", day_of_week: str = "*"
) -> Schedule:
    """A cron-style schedule, evaluated in UTC once a minute by the consumer's scheduler."""
    schedule = huey_crontab(
        minute=minute, hour=hour, day=day, month=month, day_of_week=day_of_week, strict=True
    )
    return cast(Schedule, schedule)


def registered_jobs() -> dict[str, JobSpec]:
    """Every job declared so far, by name."""
    return dict(_REGISTRY)


def load_job_modules() -> None:
    """Import every domain's jobs module so their ``@job`` declarations run."""
    for module in JOB_MODULES:
        importlib.import_module(module)


def _new_task_id() -> str:
    """A task id that starts with its enqueue time (unix seconds), so old results can be pruned."""
    return f"{int(time.time()):010d}-{uuid.uuid4().hex}"


class _EmbeddedConsumer(Consumer):  # type: ignore[misc]  # huey is untyped
    """A consumer that leaves signal handling to the host process (uvicorn, pytest)."""

    def _set_signal_handlers(self) -> None:
        """Install nothing: ``Consumer.start()`` would otherwise take over SIGINT/SIGTERM/SIGHUP."""

    def _create_process(self, process: Any, name: str) -> Any:
        """Name the threads ``jobs-worker-1``, ``jobs-scheduler`` so thread dumps say whose they are."""
        return super()._create_process(process, f"jobs-{name.lower()}")


class JobRuntime:
    """The job queue of one app or worker process: Huey instance, registered tasks, consumer."""

    health_check_seconds = 10.0

    def __init__(
        self,
        settings: Settings,
        session_factory: sessionmaker[Session],
        metrics: PlatformMetrics | None = None,
        *,
        queue_name: str = "timbel",
        jobs: Mapping[str, JobSpec] | None = None,
    ) -> None:
        self.settings = settings
        self.session_factory = session_factory
        self.metrics = metrics
        self.huey: Any = self._create_huey(queue_name)
        self._tasks: dict[str, Any] = {}
        self._consumer: Any = None
        self._health_stop = threading.Event()
        self._health_thread: threading.Thread | None = None
        self._probe: redis.Redis[bytes] | None = None
        self._probe_lock = threading.Lock()
        if jobs is None:
            load_job_modules()
            jobs = registered_jobs()
        for spec in jobs.values():
            self._register(spec)
        self._register_housekeeping()
        if metrics is not None:
            self.huey.signal(*_OUTCOMES)(self._count_outcome)

    # -- setup -------------------------------------------------------------------------------

    def _create_huey(self, queue_name: str) -> Any:
        immediate = self.settings.jobs.immediate
        if self.settings.redis_url:
            return RedisHuey(queue_name, url=self.settings.redis_url, immediate=immediate)
        data_dir = self.settings.data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        return SqliteHuey(queue_name, filename=str(data_dir / SQLITE_QUEUE_FILE), immediate=immediate)

    def _register(self, spec: JobSpec) -> None:
        runner = self._runner(spec)
        options: dict[str, Any] = {"context": True, "job_name": spec.name}
        self._tasks[spec.name] = self.huey.task(
            name=spec.name, retries=spec.retries, retry_delay=spec.retry_delay, **options
        )(runner)
        if spec.periodic is not None:
            # A separate task class: huey never stores results of periodic tasks, while
            # the same job enqueued by name must keep its result.
            self.huey.periodic_task(spec.periodic, name=spec.name + PERIODIC_SUFFIX, **options)(runner)

    def _register_housekeeping(self) -> None:
        def prune_results() -> None:
            self.prune_results()

        prune_results.__module__ = TASK_NAMESPACE
        self.huey.periodic_task(
            crontab(minute="7"), name=PRUNE_RESULTS_JOB + PERIODIC_SUFFIX, job_name=PRUNE_RESULTS_JOB
        )(prune_results)

    def _runner(self, spec: JobSpec) -> Callable[..., dict[str, Any]]:
        def run(task: Any = None, **kwargs: Any) -> dict[str, Any]:
            ctx = JobContext(self.settings, self.session_factory, str(getattr(task, "id", "")), self.enqueue)
            result = spec.func(ctx, **kwargs)
            if not isinstance(result, dict):
                raise TypeError(f"job {spec.name!r} must return a dict, not {type(result).__name__}")
            try:
                json.dumps(result)
            except (TypeError, ValueError) as exc:
                raise TypeError(f"job {spec.name!r} must return a JSON-able dict: {exc}") from exc
            return result

        run.__module__ = TASK_NAMESPACE
        run.__qualname__ = run.__name__ = spec.name
        return run

    def _count_outcome(self, signal: str, task: Any, *_args: Any) -> None:
        if self.metrics is None:
            return
        name = getattr(task, "job_name", None) or getattr(task, "name", "unknown")
        self.metrics.jobs.labels(job=name, outcome=_OUTCOMES[signal]).inc()

    # -- producing ---------------------------------------------------------------------------

    @property
    def job_names(self) -> list[str]:
        """Names of the jobs this runtime can run."""
        return sorted(self._tasks)

    def enqueue(self, name: str, /, **kwargs: Any) -> str:
        """Queue a job by name with JSON arguments; return its task id (runs now in immediate mode)."""
        task = self._tasks.get(name)
        if task is None:
            known = ", ".join(self.job_names) or "none"
            raise ValueError(f"unknown job {name!r}; registered jobs: {known}")
        if "task" in kwargs:
            raise ValueError("'task' is reserved and cannot be a job argument")
        try:
            json.dumps(kwargs)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"arguments of job {name!r} must be JSON values (ids, not objects): {exc}"
            ) from exc
        # Build the task directly: TaskWrapper.s() would swallow job arguments that happen to be
        # named id, priority, timeout, eta, delay, expires or retries.
        message = task.task_class((), dict(kwargs), id=_new_task_id())
        self.huey.enqueue(message)
        return str(message.id)

    def result(
        self, task_id: str, *, blocking: bool = False, timeout: float | None = None, preserve: bool = False
    ) -> dict[str, Any] | None:
        """Return a job's result (None while pending); raise JobFailedError if it raised.

        Reading consumes the stored result unless ``preserve`` is true.
        """
        try:
            value = self.huey.result(task_id, blocking=blocking, timeout=timeout, preserve=preserve)
        except TaskException as exc:
            meta = exc.metadata or {}
            raise JobFailedError(
                task_id, str(meta.get("error", exc)), str(meta.get("traceback", ""))
            ) from exc
        except ResultTimeout as exc:
            raise JobResultTimeoutError(f"no result for job {task_id} within {timeout}s") from exc
        return cast("dict[str, Any] | None", value)

    def prune_results(self, max_age_seconds: float = RESULT_TTL_SECONDS) -> int:
        """Drop stored job results (and errors) older than ``max_age_seconds``; return how many."""
        cutoff = time.time() - max_age_seconds
        pruned = 0
        for key in self._stored_keys():
            match = _TASK_ID_PATTERN.match(key)
            if match and int(match.group(1)) <= cutoff and self.huey.delete(key):
                pruned += 1
        return pruned

    def _stored_keys(self) -> list[str]:
        """Keys of huey's key/value store (results, plus revocations and locks we leave alone)."""
        storage = self.huey.storage
        if isinstance(storage, RedisStorage) and isinstance(storage.result_key, (str, bytes)):
            keys: list[Any] = storage.conn.hkeys(storage.result_key)
        elif isinstance(storage, SqliteStorage):
            keys = [
                row[0]
                for row in storage.sql("select key from kv where queue = ?", (storage.name,), results=True)
            ]
        else:
            keys = list(storage.result_items())
        return [key.decode() if isinstance(key, bytes) else str(key) for key in keys]

    # -- consuming ---------------------------------------------------------------------------

    def _consumer_options(self, workers: int | None, periodic: bool) -> dict[str, Any]:
        return {
            "workers": workers or self.settings.jobs.workers,
            "worker_type": "thread",
            "periodic": periodic,
            "initial_delay": 0.1,
            "backoff": 1.15,
            "max_delay": 1.0,  # SQLite storage is polled; keep pick-up latency under a second
            "scheduler_interval": 1,
        }

    @property
    def consumer_running(self) -> bool:
        """True while an in-process consumer started by ``start_consumer`` runs."""
        return self._consumer is not None

    def start_consumer(self, workers: int | None = None, *, periodic: bool = True) -> None:
        """Run workers and the periodic scheduler in daemon threads of this process (no signal handlers)."""
        if self.huey.immediate:
            logger.info("jobs run immediately on enqueue; no consumer started")
            return
        if self._consumer is not None:
            raise RuntimeError("the job consumer is already running")
        consumer = _EmbeddedConsumer(self.huey, **self._consumer_options(workers, periodic))
        consumer.start()
        self._consumer = consumer
        self._health_stop.clear()
        self._health_thread = threading.Thread(
            target=self._watch_workers, args=(consumer,), name="jobs-health", daemon=True
        )
        self._health_thread.start()

    def _watch_workers(self, consumer: Any) -> None:
        """Replace dead worker threads, as ``Consumer.run()`` would in a dedicated process."""
        while not self._health_stop.wait(self.health_check_seconds):
            try:
                consumer.check_worker_health()
            except Exception:
                logger.exception("job consumer health check failed")

    def stop_consumer(self, timeout: float | None = 30.0) -> None:
        """Stop the in-process consumer, letting running jobs finish for up to ``timeout`` seconds."""
        consumer, self._consumer = self._consumer, None
        if consumer is None:
            return
        self._health_stop.set()
        if self._health_thread is not None:
            self._health_thread.join()
            self._health_thread = None
        consumer.shutdown_timeout = timeout
        consumer.stop(graceful=True)
        if any(thread.is_alive() for _, thread in consumer.worker_threads):
            logger.warning("job workers still running after %ss; they stop with the process", timeout)

    def run_worker(self, workers: int | None = None, *, periodic: bool = True) -> None:
        """Run a consumer in the foreground until SIGTERM/SIGINT (``timbel worker``; main thread only).

        SIGTERM stops gracefully (running jobs finish), SIGINT stops at once, SIGHUP restarts.
        """
        if self.huey.immediate:
            raise RuntimeError("jobs are configured to run immediately (TIMBEL_JOBS__IMMEDIATE); no worker")
        consumer = self.huey.create_consumer(
            **self._consumer_options(workers, periodic), graceful_signal="TERM", shutdown_timeout=60.0
        )
        consumer.run()

    # -- health ------------------------------------------------------------------------------

    def ping(self) -> bool:
        """True when the queue storage answers (Redis PING or a SQLite query), for /readyz."""
        try:
            if self.settings.redis_url and not self.huey.immediate:
                return bool(self._redis_probe().ping())
            self.huey.storage.queue_size()
        except Exception as exc:
            logger.warning("job queue storage unreachable: %s", exc)
            return False
        return True

    def _redis_probe(self) -> redis.Redis[bytes]:
        """A separate client with short timeouts: huey's own connections block without a timeout."""
        with self._probe_lock:
            if self._probe is None:
                assert self.settings.redis_url is not None
                self._probe = redis.Redis.from_url(
                    self.settings.redis_url, socket_connect_timeout=1.0, socket_timeout=1.0
                )
            return self._probe

    def close(self) -> None:
        """Stop the consumer and release storage connections."""
        self.stop_consumer()
        if self._probe is not None:
            self._probe.close()
            self._probe = None
        storage = self.huey.storage
        pool = getattr(storage, "pool", None)
        if pool is not None:
            pool.disconnect()
        else:
            storage.close()
