"""How a deployment ends: succeeded (stage advanced, notified), or failed — with an automatic rollback to the
environment's last good release when the environment asks for it — and the lock released or handed over.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from timbel.catalog.models import System
from timbel.core.db import session_scope
from timbel.core.settings import Settings
from timbel.deployments import locks, service
from timbel.deployments.commits import commits_between
from timbel.deployments.models import (
    Deployment,
    DeploymentKind,
    DeploymentState,
    Environment,
    Release,
    TargetKind,
)
from timbel.deployments.stage import advance_stage
from timbel.notifications.service import notify

if TYPE_CHECKING:
    from timbel.deployments.flows import Run

logger = logging.getLogger(__name__)
D = DeploymentState
NOT_VERIFIED = "not verified: no live target"


def source_commits(
    session: Session, *, settings: Settings, deployment: Deployment, release: Release
) -> tuple[list[dict[str, Any]], str]:
    """Source commits since the previous release in the environment, and a note when they are unknown."""
    previous = (
        session.get(Release, deployment.previous_release_id) if deployment.previous_release_id else None
    )
    system = session.get(System, deployment.system_id)
    if system is None:
        return [], "source commits not recorded: the system no longer exists"
    try:
        with session.begin_nested():
            found = commits_between(
                session, settings=settings, system=system, old=previous.source_commit if previous else None,
                new=release.source_commit,
            )  # fmt: skip
    except Exception as exc:  # commit history must never block a deployment
        logger.warning("commits of deployment %s unknown: %s", deployment.id, type(exc).__name__)
        return [], f"source commits not recorded: {getattr(exc, 'detail', type(exc).__name__)}"
    return list(found), ""


def _notify(session: Session, *, d: Deployment, event: str, version: str, reason: str, enqueue: Any) -> None:
    system = session.get(System, d.system_id)
    notify(
        session,
        event=event,
        data={"system": system.name if system else d.system_id, "env": d.environment, "version": version,
              "reason": reason, "deployment_id": d.id},
        enqueue=enqueue,
        domain_id=d.domain_id,
        dedup_key=f"deployment:{d.id}:{event}",
    )  # fmt: skip


def _with_note(text: str, d: Deployment) -> str:
    note = (d.progress or {}).get("commits_note")
    return f"{text}; {note}" if note else text


def succeed(run: Run) -> dict[str, Any]:
    """End as succeeded (GitOps only: not verified), advance the system's stage, notify, release the lock."""
    with session_scope(run.factory) as session:
        d = service.get_deployment(session, deployment_id=run.id)
        release = service.get_release(session, release_id=d.release_id)
        gitops_only = d.target_kind not in (TargetKind.argocd.value, TargetKind.kubernetes.value)
        if gitops_only and d.state == D.syncing.value:
            service.transition(session, deployment_id=d.id, to=D.verifying, reason="GitOps commit pushed")
        short = (d.gitops_sha or "")[:12]
        text = NOT_VERIFIED if gitops_only else f"verified: healthy at {short}, every check passed"
        moved = service.transition(
            session, deployment_id=d.id, to=D.succeeded, reason=text, outcome=_with_note(text, d),
            verified=not gitops_only, health="not-verified" if gitops_only else d.health,
        )  # fmt: skip
        if not moved.accepted:
            locks.release(session, deployment=d, enqueue=run.enqueue)
            return {"deployment_id": d.id, "state": d.state, "result": moved.refusal}
        _notify(
            session,
            d=d,
            event="deployment.succeeded",
            version=release.version,
            reason=text,
            enqueue=run.enqueue,
        )
        env = session.get(Environment, d.environment_id) if d.environment_id else None
        system = session.get(System, d.system_id)
        if env is not None and system is not None:
            last = max(e.position for e in service.environments_for(session, domain_id=d.domain_id))
            advance_stage(session, system=system, environment=env, last_position=last, deployment_id=d.id)
        locks.release(session, deployment=d, enqueue=run.enqueue)
        return {"deployment_id": d.id, "state": D.succeeded.value, "sha": d.gitops_sha}


def _last_good_other(session: Session, d: Deployment) -> Deployment | None:
    """The environment's newest succeeded deployment of a release other than ``d``'s."""
    return session.scalar(
        select(Deployment)
        .where(
            Deployment.system_id == d.system_id,
            Deployment.environment == d.environment,
            Deployment.state == D.succeeded.value,
            Deployment.release_id != d.release_id,
        )
        .order_by(Deployment.finished_at.desc(), Deployment.created_at.desc())
        .limit(1)
    )


def fail(run: Run, *, why: str, health: str = "") -> dict[str, Any]:
    """End a failed deployment: automatic rollback when configured and possible, else failed; notify."""
    why = why.strip()[:2000] or "failed"
    with session_scope(run.factory) as session:
        d = service.get_deployment(session, deployment_id=run.id)
        env = session.get(Environment, d.environment_id) if d.environment_id else None
        system = session.get(System, d.system_id)
        good = _last_good_other(session, d)
        extra: dict[str, Any] = {"health": health} if health else {}
        can_roll_back = (  # nothing committed (a hand edit, GitOps down) leaves nothing to roll back
            d.state in (D.syncing.value, D.verifying.value)
            and d.kind != DeploymentKind.auto_rollback.value
            and bool(d.gitops_sha)
        )
        if (
            env is not None
            and system is not None
            and env.auto_rollback
            and good is not None
            and can_roll_back
        ):
            target = service.get_release(session, release_id=good.release_id)
            release = service.get_release(session, release_id=d.release_id)
            rollback = service.create_deployment(
                session, system=system, environment=env, release=target, kind=DeploymentKind.auto_rollback,
                state=D.approved, requested_by_id=None, requested_by="timbel",
                reason=f"Deployment {d.id} of {release.version} failed: {why}", enqueue=run.enqueue,
                rollback_of_id=d.id,
            )  # fmt: skip
            moved = service.transition(
                session, deployment_id=d.id, to=D.rolled_back, reason=why, outcome=_with_note(why, d),
                rolled_back_by_id=rollback.id, **extra,
            )  # fmt: skip
            if moved.accepted:
                locks.hand_over(session, deployment=d, to_id=rollback.id)
                _notify(session, d=d, event="deployment.rolled_back", version=target.version, reason=why,
                        enqueue=run.enqueue)  # fmt: skip
                return {
                    "deployment_id": d.id,
                    "state": D.rolled_back.value,
                    "rollback_id": rollback.id,
                    "why": why,
                }
            session.delete(rollback)  # the deployment ended some other way meanwhile
            session.flush()
        moved = service.transition(
            session, deployment_id=d.id, to=D.failed, reason=why, outcome=_with_note(why, d), **extra
        )
        if moved.accepted:
            release = service.get_release(session, release_id=d.release_id)
            _notify(
                session,
                d=d,
                event="deployment.failed",
                version=release.version,
                reason=why,
                enqueue=run.enqueue,
            )
        locks.release(session, deployment=d, enqueue=run.enqueue)
        return {"deployment_id": d.id, "state": d.state, "why": why}
