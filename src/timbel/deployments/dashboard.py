"""The home page's operations figures: deployments running and recent, failed runs, approvals, health.

Why a change marker: the live dashboard asks the database every couple of seconds whether anything moved
(a few aggregates over indexed columns) and only then builds and sends a new snapshot. Health is what the
last deployment recorded ("at last deployment"): the dashboard never calls remote targets.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from timbel.auth.principal import Principal
from timbel.catalog import service as catalog_service
from timbel.catalog.models import System
from timbel.core.db import utcnow
from timbel.deployments import approvals as approval_requests
from timbel.deployments.models import (
    ACTIVE_STATES,
    TERMINAL_STATES,
    ApprovalRequest,
    ApprovalState,
    Deployment,
    DeploymentState,
    DeploymentStateChange,
    Environment,
    Release,
)
from timbel.deployments.read_service import releases_by_id, seconds_between
from timbel.deployments.service import newest_per_cell
from timbel.pipelines.run_models import PipelineRun

RECENT = 10
FAILED_RUN_STATES = ("failed", "timed_out")
FAILED_WINDOW = timedelta(hours=24)
COUNTED = (Deployment.system_id, Deployment.environment, Deployment.state, Deployment.health)


def _scoped(query: Any, principal: Principal, column: Any) -> Any:
    if catalog_service.sees_all(principal):
        return query
    return query.where(column.in_(principal.domain_ids))


def _scope(principal: Principal) -> list[Any]:
    """The conditions limiting deployments to the caller's domains (none with ``domains:all``)."""
    return [] if catalog_service.sees_all(principal) else [Deployment.domain_id.in_(principal.domain_ids)]


def change_marker(session: Session, *, principal: Principal, now: datetime | None = None) -> tuple[Any, ...]:
    """Cheap aggregates that change whenever a figure of the dashboard can change."""
    since = (now or utcnow()) - FAILED_WINDOW
    deployments = session.execute(
        _scoped(
            select(func.count(Deployment.id), func.max(Deployment.created_at)),
            principal,
            Deployment.domain_id,
        )
    ).one()
    changes = session.execute(
        _scoped(
            select(func.count(DeploymentStateChange.id), func.max(DeploymentStateChange.at)).join(
                Deployment, Deployment.id == DeploymentStateChange.deployment_id
            ),
            principal,
            Deployment.domain_id,
        )
    ).one()
    approvals = session.execute(
        _scoped(
            select(func.count(ApprovalRequest.id), func.max(ApprovalRequest.decided_at)).join(
                Deployment, Deployment.id == ApprovalRequest.deployment_id
            ),
            principal,
            Deployment.domain_id,
        ).where(ApprovalRequest.state == ApprovalState.pending.value)
    ).one()
    runs = session.execute(
        _scoped(
            select(func.count(PipelineRun.id), func.max(PipelineRun.finished_at)).join(
                System, System.id == PipelineRun.system_id
            ),
            principal,
            System.domain_id,
        ).where(PipelineRun.state.in_(FAILED_RUN_STATES), PipelineRun.finished_at >= since)
    ).one()
    return (*deployments, *changes, *approvals, *runs)


def _names(session: Session, ids: set[str]) -> dict[str, tuple[str, str]]:
    if not ids:
        return {}
    rows = session.execute(select(System.id, System.name, System.slug).where(System.id.in_(ids))).all()
    return {r[0]: (r[1], r[2]) for r in rows}


def _row(
    row: Deployment, release: Release | None, names: dict[str, tuple[str, str]], now: datetime
) -> dict[str, Any]:
    name = names.get(row.system_id, ("", ""))
    since = row.started_at or row.approved_at or row.created_at
    return {
        "id": row.id,
        "system_id": row.system_id,
        "system": name[0],
        "system_slug": name[1],
        "environment": row.environment,
        "kind": row.kind,
        "state": row.state,
        "health": row.health,
        "version": release.version if release else "",
        "actor": row.requested_by,
        "created_at": row.created_at,
        "started_at": since,
        "finished_at": row.finished_at,
        "elapsed_seconds": seconds_between(since, row.finished_at or now),
    }


def _approvals(session: Session, principal: Principal) -> list[ApprovalRequest]:
    """Pending approvals the viewer may decide."""
    return list(approval_requests.pending_for(session, principal=principal))


def _health(
    session: Session, principal: Principal, latest: dict[tuple[str, str], Deployment]
) -> list[dict[str, Any]]:
    """Per environment: systems by the state of their last deployment and by health at the last success."""
    positions = session.execute(
        _scoped(
            select(Environment.name, func.min(Environment.position)).group_by(Environment.name),
            principal,
            Environment.domain_id,
        )
    ).all()
    order: dict[str, int] = {str(name): int(position) for name, position in positions}
    succeeded = [*_scope(principal), Deployment.state == DeploymentState.succeeded.value]
    good = newest_per_cell(session, where=succeeded, stamp=Deployment.finished_at, only=COUNTED)
    envs = sorted({env for _, env in latest} | set(order), key=lambda e: (order.get(e, 99), e))
    result = []
    for env in envs:
        states = Counter(d.state for (_, e), d in latest.items() if e == env)
        health = Counter((d.health or "unknown") for (_, e), d in good.items() if e == env)
        result.append(
            {
                "environment": env,
                "systems": len({s for s, e in latest if e == env}),
                "states": dict(sorted(states.items())),
                "health": dict(sorted(health.items())),
            }
        )
    return result


def snapshot(session: Session, *, principal: Principal, now: datetime | None = None) -> dict[str, Any]:
    """Every figure of the dashboard, from real records, scoped to the caller's domains."""
    now = now or utcnow()
    visible = _scoped(select(Deployment), principal, Deployment.domain_id)
    active = list(
        session.scalars(visible.where(Deployment.state.in_(ACTIVE_STATES)).order_by(Deployment.created_at))
    )
    recent = list(
        session.scalars(
            visible.where(Deployment.state.in_(TERMINAL_STATES))
            .order_by(Deployment.finished_at.desc(), Deployment.created_at.desc())
            .limit(RECENT)
        )
    )
    latest = newest_per_cell(session, where=_scope(principal), only=COUNTED)
    failed_runs = list(
        session.scalars(
            _scoped(
                select(PipelineRun).join(System, System.id == PipelineRun.system_id),
                principal,
                System.domain_id,
            )
            .where(PipelineRun.state.in_(FAILED_RUN_STATES), PipelineRun.finished_at >= now - FAILED_WINDOW)
            .order_by(PipelineRun.finished_at.desc())
            .limit(20)
        )
    )
    pending = _approvals(session, principal)
    asked = _deployments(session, {a.deployment_id for a in pending})  # one query, not one per approval
    approvals = [
        a
        for a in pending
        if catalog_service.sees_all(principal)
        or ((d := asked.get(a.deployment_id)) is not None and d.domain_id in principal.domain_ids)
    ]
    waiting = {a.deployment_id: asked.get(a.deployment_id) for a in approvals}
    deployments = [*active, *recent, *(d for d in waiting.values() if d is not None)]
    names = _names(session, {d.system_id for d in deployments} | {r.system_id for r in failed_runs})
    releases = releases_by_id(session, (d.release_id for d in deployments))
    return {
        "generated_at": now,
        "in_progress": [_row(d, releases.get(d.release_id), names, now) for d in active],
        "recent": [_row(d, releases.get(d.release_id), names, now) for d in recent],
        "failed_runs": [
            {
                "id": r.id,
                "number": r.number,
                "system_id": r.system_id,
                "system": names.get(r.system_id, ("", ""))[0],
                "state": r.state,
                "ref": r.ref,
                "reason": r.reason,
                "finished_at": r.finished_at,
            }
            for r in failed_runs
        ],
        "approvals": [
            {
                "id": a.id,
                "deployment_id": a.deployment_id,
                "expires_at": a.expires_at,
                "created_at": a.created_at,
                **(
                    {}
                    if (d := waiting.get(a.deployment_id)) is None
                    else {
                        "system": names.get(d.system_id, ("", ""))[0],
                        "environment": d.environment,
                        "version": (r.version if (r := releases.get(d.release_id)) else ""),
                        "actor": d.requested_by,
                    }
                ),
            }
            for a in approvals
        ],
        "environments": _health(session, principal, latest),
    }


def _deployments(session: Session, ids: set[str]) -> dict[str, Deployment]:
    """Deployments by id (those that exist)."""
    if not ids:
        return {}
    return {d.id: d for d in session.scalars(select(Deployment).where(Deployment.id.in_(ids)))}
