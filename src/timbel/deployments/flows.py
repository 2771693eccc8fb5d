"""Execute one deployment: lock the environment, commit the values, roll out, watch health, verify, finish.

Why resumable: a worker may die at any point. ``Deployment.progress`` records the last finished step
(``committed`` with the GitOps commit, ``applied``, ``healthy``), so running ``execute`` again — from the
``deployments.reconcile`` job — carries on without a second GitOps commit or a second sync. The environment
lock serialises deployments of one system's environment; its holder hands it to an automatic rollback or,
when done, wakes the oldest deployment waiting for it. Every state change goes through ``service.transition``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from timbel.catalog.models import System
from timbel.core.db import session_scope, utcnow
from timbel.core.errors import AppError
from timbel.core.settings import Settings
from timbel.deployments import locks, outcome, service
from timbel.deployments.gitops_commit import commit_release, contains, open_clone
from timbel.deployments.models import (
    TERMINAL_STATES,
    Deployment,
    DeploymentState,
    Environment,
    Release,
    TargetKind,
)
from timbel.deployments.targets import TargetContext, context_for, target_for
from timbel.deployments.values import ValuesEditError
from timbel.deployments.verify import CheckContext, HealthCheck, run_checks
from timbel.gitops import GitOpsRepo

logger = logging.getLogger(__name__)
Enqueue = Callable[..., str]
Clock = Callable[[], datetime]
MAX_RESYNCS = 3
D = DeploymentState


class StepFailed(Exception):
    """A step ended the deployment; ``why`` is the secret-free reason stored as the outcome."""

    def __init__(self, why: str, *, health: str = "") -> None:
        super().__init__(why)
        self.why, self.health = why, health


class Run:
    """One execution of a deployment: its ids, injected time, and the clone once opened."""

    def __init__(
        self, factory: sessionmaker[Session], *, settings: Settings, deployment_id: str, enqueue: Enqueue,
        sleep: Callable[[float], None], clock: Clock,
    ) -> None:  # fmt: skip
        self.factory, self.settings, self.id, self.enqueue = factory, settings, deployment_id, enqueue
        self.sleep, self.clock = sleep, clock
        self.repo: GitOpsRepo | None = None
        self.poll = float(getattr(getattr(settings, "deployments", None), "poll_seconds", 3.0))

    def beat(self, **values: Any) -> None:
        """Record that this execution is alive (and any progress values)."""
        with session_scope(self.factory) as session:
            session.execute(
                update(Deployment).where(Deployment.id == self.id).values(heartbeat_at=self.clock(), **values)
            )


def execute(
    session_factory: sessionmaker[Session],
    *,
    settings: Settings,
    deployment_id: str,
    enqueue: Enqueue,
    sleep: Callable[[float], None] = time.sleep,
    clock: Clock = utcnow,
) -> dict[str, Any]:
    """Run (or resume) a deployment to its end; ``waiting`` when another deployment holds the environment."""
    run = Run(session_factory, settings=settings, deployment_id=deployment_id, enqueue=enqueue,
              sleep=sleep, clock=clock)  # fmt: skip
    with session_scope(session_factory) as session:
        early = _start(session, run)
    if early is not None:
        return {"deployment_id": deployment_id, **early}
    try:
        _steps(run)
    except StepFailed as exc:
        return outcome.fail(run, why=exc.why, health=exc.health)
    except ValuesEditError as exc:
        return outcome.fail(run, why=f"the values file cannot be edited: {exc}")
    except AppError as exc:
        return outcome.fail(run, why=exc.detail)
    except Exception:
        logger.exception("deployment %s failed", deployment_id)
        return outcome.fail(run, why="internal error, see server log")
    return outcome.succeed(run)


def _start(session: Session, run: Run) -> dict[str, Any] | None:
    """Check the state, take the lock, count the attempt, move approved → syncing; None = go on."""
    d = session.get(Deployment, run.id)
    if d is None:
        return {"state": "missing", "result": "missing"}
    if d.state in TERMINAL_STATES or d.state == D.pending_approval.value:
        return {"state": d.state, "result": "nothing to do"}
    stale = timedelta(seconds=float(getattr(run.settings.deployments, "stale_seconds", 120.0)))
    if d.state != D.approved.value and d.heartbeat_at is not None and run.clock() - d.heartbeat_at < stale:
        return {"state": d.state, "result": "running elsewhere"}
    if not locks.acquire(session, deployment=d):
        return {"state": d.state, "result": "waiting"}
    d.attempts += 1
    d.heartbeat_at = run.clock()
    d.started_at = d.started_at or run.clock()
    if d.state == D.approved.value:
        moved = service.transition(session, deployment_id=d.id, to=D.syncing, reason="execution started")
        if not moved.accepted:  # another worker started it first (or it was cancelled): leave it be
            return {"state": d.state, "result": moved.refusal}
    return None


def _steps(run: Run) -> None:
    """Commit (unless done), apply (unless done), wait for health, verify."""
    with session_scope(run.factory) as session:
        d, system, release, env = _rows(session, run.id)
        progress = dict(d.progress or {})
        if progress.get("step") is None:
            committed = commit_release(
                session, settings=run.settings, deployment=d, system=system, release=release
            )
            run.repo = committed.repo
            progress = {"step": "committed", "sha": committed.sha, "changed": committed.changed}
            d.gitops_repository, d.gitops_sha, d.progress = committed.repository, committed.sha, progress
            d.commits, note = outcome.source_commits(
                session, settings=run.settings, deployment=d, release=release
            )
            if note:
                d.progress = progress = {**progress, "commits_note": note}
        if d.target_kind not in (TargetKind.argocd.value, TargetKind.kubernetes.value):
            return  # GitOps only (the target recorded when the deployment was asked)
        if run.repo is None:
            _, run.repo = open_clone(session, settings=run.settings, deployment=d)
        ctx = _target_context(session, run, system, env, sha=str(progress["sha"]), d_kind=d.target_kind)
        timeout, window = env.health_timeout_seconds, env.verify_window_seconds
        check_base = _check_base(d, system, release, ctx)
    target = target_for(ctx.kind)
    if progress["step"] == "committed":
        target.apply(ctx)
        progress = {**progress, "step": "applied"}
        _move(run, D.verifying, "rolled out to the target", progress=progress)
    if progress["step"] == "applied":
        live = _wait_healthy(run, ctx, timeout=timeout, check_base=check_base)
        progress = {**progress, "step": "healthy"}
        run.beat(progress=progress, health=live.health)
    _verify(run, ctx, window=window, check_base=check_base)


def _rows(session: Session, deployment_id: str) -> tuple[Deployment, System, Release, Environment]:
    d = service.get_deployment(session, deployment_id=deployment_id)
    system = session.get(System, d.system_id)
    env = session.get(Environment, d.environment_id) if d.environment_id else None
    if system is None or env is None:
        raise StepFailed("the system or its environment no longer exists")
    return d, system, service.get_release(session, release_id=d.release_id), env


def _target_context(
    session: Session, run: Run, system: System, env: Environment, *, sha: str, d_kind: str
) -> TargetContext:
    repo = run.repo
    return context_for(
        session, settings=run.settings, system=system, environment=env, revision=sha,
        workdir=repo.path if repo else None, kind=d_kind,
        contains=(lambda theirs: contains(repo, sha, theirs)) if repo else None,
    )  # fmt: skip


def _check_base(d: Deployment, system: System, release: Release, ctx: TargetContext) -> dict[str, Any]:
    return {
        "deployment_id": d.id, "system_id": system.id, "system": system.slug, "domain": ctx.domain,
        "environment": d.environment, "version": release.version, "images": list(release.images),
        "revision": ctx.revision, "contains": ctx.contains,
    }  # fmt: skip


def _move(run: Run, to: DeploymentState, reason: str, **values: Any) -> None:
    with session_scope(run.factory) as session:
        moved = service.transition(
            session, deployment_id=run.id, to=to, reason=reason, heartbeat_at=run.clock(), **values
        )
        if not moved.accepted and moved.from_state != to.value:
            raise StepFailed(f"stopped: {moved.refusal}")


def _wait_healthy(run: Run, ctx: TargetContext, *, timeout: int, check_base: dict[str, Any]) -> Any:
    """Poll the target until it is healthy at our commit; fail on a failed rollout or at the timeout."""
    target, deadline, resyncs, last_error = (
        target_for(ctx.kind),
        run.clock() + timedelta(seconds=timeout),
        0,
        "",
    )
    while True:
        try:
            seen = target.observe(ctx)
        except AppError as exc:
            last_error, seen = exc.detail, None
        run.beat()
        if seen is not None:
            if seen.failure:
                raise StepFailed(seen.failure, health=seen.live.health)
            if seen.needs_sync and resyncs < MAX_RESYNCS:
                resyncs += 1
                target.apply(ctx)
            elif HealthCheck().run(CheckContext(live=seen.live, **check_base)).passed:
                return seen.live
        if run.clock() >= deadline:
            state = (
                f"health {seen.live.health}, sync {seen.live.sync or '-'}"
                if seen
                else f"last error: {last_error}"
            )
            raise StepFailed(
                f"not healthy within {timeout} s ({state})", health=seen.live.health if seen else ""
            )
        run.sleep(run.poll)


def _verify(run: Run, ctx: TargetContext, *, window: int, check_base: dict[str, Any]) -> None:
    """Run the verification checks every poll for the verify window; the first failure ends it."""
    target, end = target_for(ctx.kind), run.clock() + timedelta(seconds=window)
    while True:
        live = target.status(ctx)
        results = run_checks(CheckContext(live=live, settings=run.settings, **check_base))
        run.beat(checks=[r.as_dict() for r in results], health=live.health)
        failed = [r for r in results if not r.passed]
        if failed:
            first = failed[0]
            raise StepFailed(f"verification check {first.name} failed: {first.detail}", health=live.health)
        if run.clock() >= end:
            return
        run.sleep(run.poll)
