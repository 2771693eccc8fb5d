"""Deployment jobs: ``deployments.execute`` runs one deployment; ``deployments.reconcile`` (every minute)
resumes deployments whose worker went silent and drops locks of deployments that ended.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from timbel.core.db import session_scope, utcnow
from timbel.core.jobs import JobContext, crontab, job
from timbel.core.settings import Settings
from timbel.deployments import flows, locks, service
from timbel.deployments.models import ACTIVE_STATES, Deployment


@job(service.EXECUTE_JOB)
def execute(ctx: JobContext, *, deployment_id: str) -> dict[str, Any]:
    """Run or resume one deployment (idempotent: a finished or running one is left alone)."""
    return flows.execute(
        ctx.session_factory, settings=ctx.settings, deployment_id=deployment_id, enqueue=ctx.enqueue
    )


def reconcile_deployments(
    session: Session,
    *,
    settings: Settings,
    enqueue: Callable[..., str],
    clock: Callable[[], datetime] = utcnow,
) -> dict[str, int]:
    """Enqueue active deployments silent for ``stale_seconds`` again; drop locks of ended deployments."""
    dropped = locks.drop_stale(session)
    stale_seconds = float(getattr(getattr(settings, "deployments", None), "stale_seconds", 120.0))
    cutoff = clock() - timedelta(seconds=stale_seconds)
    last_sign = func.coalesce(Deployment.heartbeat_at, Deployment.approved_at, Deployment.created_at)
    ids = list(
        session.scalars(
            select(Deployment.id)
            .where(Deployment.state.in_(sorted(ACTIVE_STATES)), last_sign < cutoff)
            .order_by(Deployment.created_at)
        )
    )
    for deployment_id in ids:
        service.schedule_execution(session, deployment_id=deployment_id, enqueue=enqueue)
    return {"resumed": len(ids), "locks_dropped": dropped}


@job("deployments.reconcile", periodic=crontab(minute="*"))
def reconcile(ctx: JobContext) -> dict[str, int]:
    """Resume silent deployments and drop stale locks (once a minute)."""
    with session_scope(ctx.session_factory) as session:
        return reconcile_deployments(session, settings=ctx.settings, enqueue=ctx.enqueue)
