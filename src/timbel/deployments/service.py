"""The deployment core: environments (defaults on first use), releases, deployment rows and their states.

Why one module: everything else (approvals, promotion, execution, pages) goes through these few functions,
so a deployment's state only ever changes through ``transition`` and the state machine, and a deployment
is only enqueued for execution after the request that approved it commits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, load_only

from timbel.catalog.models import System
from timbel.core.db import after_commit, utcnow
from timbel.core.errors import NotFound
from timbel.core.states import Transition, set_state
from timbel.deployments.models import (
    DEPLOYMENT_MACHINE,
    Deployment,
    DeploymentKind,
    DeploymentState,
    DeploymentStateChange,
    Environment,
    Release,
    TargetKind,
)

Enqueue = Callable[..., str]
EXECUTE_JOB = "deployments.execute"

# The environments a domain gets when nobody configured any: dev → stg → prod, GitOps only,
# production needs an approval by an executive or an administrator.
DEFAULT_ENVIRONMENTS: tuple[dict[str, Any], ...] = (
    {"name": "dev", "position": 0, "requires_approval": False, "approver_roles": []},
    {"name": "stg", "position": 1, "requires_approval": False, "approver_roles": []},
    {"name": "prod", "position": 2, "requires_approval": True, "approver_roles": ["executive", "admin"]},
)


def environments_for(session: Session, *, domain_id: str) -> list[Environment]:
    """A domain's environments in promotion order, creating the defaults on first use."""
    rows = list(
        session.scalars(
            select(Environment).where(Environment.domain_id == domain_id).order_by(Environment.position)
        )
    )
    if rows:
        return rows
    for spec in DEFAULT_ENVIRONMENTS:
        session.add(Environment(domain_id=domain_id, target_kind=TargetKind.gitops.value, **spec))
    session.flush()
    return environments_for(session, domain_id=domain_id)


def get_environment(session: Session, *, domain_id: str, name: str) -> Environment:
    """One environment of a domain by name (404 when the domain has no such environment)."""
    for row in environments_for(session, domain_id=domain_id):
        if row.name == name:
            return row
    raise NotFound(f"Environment '{name}' does not exist for this domain.")


def next_environment(session: Session, *, domain_id: str, name: str) -> Environment | None:
    """The environment a release is promoted to from ``name`` (None after the last one)."""
    rows = environments_for(session, domain_id=domain_id)
    names = [r.name for r in rows]
    if name not in names:
        raise NotFound(f"Environment '{name}' does not exist for this domain.")
    index = names.index(name)
    return rows[index + 1] if index + 1 < len(rows) else None


def previous_environment(session: Session, *, domain_id: str, name: str) -> Environment | None:
    """The environment a release is promoted from into ``name`` (None for the first one)."""
    rows = environments_for(session, domain_id=domain_id)
    names = [r.name for r in rows]
    if name not in names:
        raise NotFound(f"Environment '{name}' does not exist for this domain.")
    index = names.index(name)
    return rows[index - 1] if index > 0 else None


def get_release(session: Session, *, release_id: str) -> Release:
    """One release by id."""
    row = session.get(Release, release_id)
    if row is None:
        raise NotFound("Release not found.")
    return row


def find_release(session: Session, *, system_id: str, ref: str) -> Release:
    """A system's release by id or version label."""
    row = session.scalar(
        select(Release).where(Release.system_id == system_id, (Release.version == ref) | (Release.id == ref))
    )
    if row is None:
        raise NotFound(f"Release '{ref}' does not exist for this system.")
    return row


def get_deployment(session: Session, *, deployment_id: str) -> Deployment:
    """One deployment by id."""
    row = session.get(Deployment, deployment_id)
    if row is None:
        raise NotFound("Deployment not found.")
    return row


def last_good(
    session: Session, *, system_id: str, environment: str, before: datetime | None = None
) -> Deployment | None:
    """The newest deployment that succeeded in a system's environment (optionally: created before a time)."""
    query = select(Deployment).where(
        Deployment.system_id == system_id,
        Deployment.environment == environment,
        Deployment.state == DeploymentState.succeeded.value,
    )
    if before is not None:
        query = query.where(Deployment.created_at < before)
    return session.scalar(
        query.order_by(Deployment.finished_at.desc(), Deployment.created_at.desc()).limit(1)
    )


def newest_per_cell(
    session: Session, *, where: Sequence[Any], stamp: Any = Deployment.created_at, only: Sequence[Any] = ()
) -> dict[tuple[str, str], Deployment]:
    """The deployment with the newest ``stamp`` per (system id, environment) among rows matching ``where``.

    One grouped subquery instead of reading every deployment ever made; ``only`` loads just those columns
    (counting pages skip the JSON ones).
    """
    newest = (
        select(Deployment.system_id, Deployment.environment, func.max(stamp).label("at"))
        .where(*where)
        .group_by(Deployment.system_id, Deployment.environment)
        .subquery()
    )
    rows = session.scalars(
        select(Deployment)
        .join(
            newest,
            and_(
                Deployment.system_id == newest.c.system_id,
                Deployment.environment == newest.c.environment,
                stamp == newest.c.at,
            ),
        )
        .where(*where)
        .order_by(Deployment.id.desc())
        .options(*([load_only(*only)] if only else []))
    )
    found: dict[tuple[str, str], Deployment] = {}
    for row in rows:
        found.setdefault((row.system_id, row.environment), row)
    return found


def current_releases(session: Session, *, system_ids: Iterable[str]) -> dict[tuple[str, str], Deployment]:
    """The last succeeded deployment per (system id, environment) for some systems."""
    ids = list(system_ids)
    if not ids:
        return {}
    where = [Deployment.system_id.in_(ids), Deployment.state == DeploymentState.succeeded.value]
    finished = func.coalesce(Deployment.finished_at, Deployment.created_at)  # rows written by hand lack it
    return newest_per_cell(session, where=where, stamp=finished)


def create_deployment(
    session: Session,
    *,
    system: System,
    environment: Environment,
    release: Release,
    kind: DeploymentKind,
    state: DeploymentState,
    requested_by_id: str | None,
    requested_by: str,
    reason: str,
    enqueue: Enqueue,
    emergency: bool = False,
    checklist: Sequence[dict[str, Any]] = (),
    rollback_of_id: str | None = None,
) -> Deployment:
    """Record a deployment (``pending_approval`` or ``approved``); approved ones run after the commit."""
    previous = last_good(session, system_id=system.id, environment=environment.name)
    row = Deployment(
        system_id=system.id,
        domain_id=system.domain_id,
        environment_id=environment.id,
        environment=environment.name,
        release_id=release.id,
        previous_release_id=previous.release_id if previous else None,
        kind=kind.value,
        state=state.value,
        target_kind=environment.target_kind,
        reason=reason,
        emergency=emergency,
        checklist=list(checklist),
        rollback_of_id=rollback_of_id,
        requested_by_id=requested_by_id,
        requested_by=requested_by,
        approved_at=utcnow() if state is DeploymentState.approved else None,
        approved_by_id=requested_by_id if state is DeploymentState.approved else None,
    )
    session.add(row)
    session.flush()
    if state is DeploymentState.approved:
        schedule_execution(session, deployment_id=row.id, enqueue=enqueue)
    return row


def schedule_execution(session: Session, *, deployment_id: str, enqueue: Enqueue) -> None:
    """Enqueue the execution of a deployment once the current transaction commits."""
    after_commit(session, lambda: enqueue(EXECUTE_JOB, deployment_id=deployment_id))


def transition(
    session: Session,
    *,
    deployment_id: str,
    to: DeploymentState,
    reason: str,
    actor_id: str | None = None,
    **values: Any,
) -> Transition:
    """Move a deployment to ``to`` through the state machine; terminal states stamp ``finished_at``."""
    if DEPLOYMENT_MACHINE.terminal(to):
        values.setdefault("finished_at", utcnow())
    return set_state(
        session,
        machine=DEPLOYMENT_MACHINE,
        model=Deployment,
        row_id=deployment_id,
        to=to,
        values=values,
        history=lambda old, new: DeploymentStateChange(
            deployment_id=deployment_id, from_state=old, to_state=new, reason=reason[:2000], actor_id=actor_id
        ),
    )


def history(session: Session, *, deployment_id: str) -> list[DeploymentStateChange]:
    """A deployment's accepted state changes, oldest first."""
    return list(
        session.scalars(
            select(DeploymentStateChange)
            .where(DeploymentStateChange.deployment_id == deployment_id)
            .order_by(DeploymentStateChange.at, DeploymentStateChange.id)
        )
    )
