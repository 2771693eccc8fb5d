"""The environment lock: one deployment at a time changes a system's environment.

Why a row with a primary key: the INSERT itself is the test-and-set on PostgreSQL and SQLite alike. A lock
whose deployment ended (a crashed worker) is stale and removed by the next taker or ``deployments.reconcile``.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from timbel.deployments import service
from timbel.deployments.models import TERMINAL_STATES, Deployment, DeploymentState, EnvironmentLock

Enqueue = Callable[..., str]


def acquire(session: Session, *, deployment: Deployment) -> bool:
    """Take (or keep) the environment's lock; False when another live deployment holds it."""
    key = (deployment.system_id, deployment.environment)
    held = session.get(EnvironmentLock, key, with_for_update=True)
    if held is not None:
        if held.deployment_id == deployment.id:
            return True
        holder = session.get(Deployment, held.deployment_id)
        if holder is not None and holder.state not in TERMINAL_STATES:
            return False
        session.delete(held)
        session.flush()
    try:
        with session.begin_nested():
            session.add(EnvironmentLock(system_id=key[0], environment=key[1], deployment_id=deployment.id))
    except IntegrityError:
        return False
    return True


def hand_over(session: Session, *, deployment: Deployment, to_id: str) -> None:
    """Give the deployment's lock to another deployment of the same environment (an automatic rollback)."""
    held = session.get(EnvironmentLock, (deployment.system_id, deployment.environment))
    if held is None:
        session.add(
            EnvironmentLock(
                system_id=deployment.system_id, environment=deployment.environment, deployment_id=to_id
            )
        )
    else:
        held.deployment_id = to_id
    session.flush()


def release(session: Session, *, deployment: Deployment, enqueue: Enqueue) -> str | None:
    """Drop the deployment's lock and wake the oldest approved deployment waiting there; return its id."""
    session.execute(
        delete(EnvironmentLock).where(
            EnvironmentLock.system_id == deployment.system_id,
            EnvironmentLock.environment == deployment.environment,
            EnvironmentLock.deployment_id == deployment.id,
        )
    )
    waiting = session.scalar(
        select(Deployment.id)
        .where(
            Deployment.system_id == deployment.system_id,
            Deployment.environment == deployment.environment,
            Deployment.state == DeploymentState.approved.value,
            Deployment.id != deployment.id,
        )
        .order_by(Deployment.approved_at, Deployment.created_at)
        .limit(1)
    )
    if waiting is not None:
        service.schedule_execution(session, deployment_id=waiting, enqueue=enqueue)
    return waiting


def drop_stale(session: Session) -> int:
    """Remove locks whose deployment ended or vanished; return how many."""
    stale = [
        lock
        for lock, state in session.execute(
            select(EnvironmentLock, Deployment.state).outerjoin(
                Deployment, Deployment.id == EnvironmentLock.deployment_id
            )
        )
        if state is None or state in TERMINAL_STATES
    ]
    for lock in stale:
        session.delete(lock)
    session.flush()
    return len(stale)
