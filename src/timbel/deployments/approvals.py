"""Approval requests: opening them, deciding them, who sees which, and expiring stale ones."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from timbel.auth.permissions import Permission, Role
from timbel.auth.principal import Principal
from timbel.catalog.models import System
from timbel.core.db import utcnow
from timbel.core.states import Transition, set_state
from timbel.deployments import service
from timbel.deployments.models import (
    APPROVAL_MACHINE,
    ApprovalRequest,
    ApprovalState,
    ApprovalStateChange,
    Deployment,
    DeploymentState,
    Environment,
    Release,
)
from timbel.notifications.service import notify

DEFAULT_APPROVERS = ("admin", "operations")


def approver_roles(environment: Environment) -> list[str]:
    """Who may approve a deployment to an environment: its approver roles, else admin and operations."""
    roles = [r for r in environment.approver_roles or [] if r in {x.value for x in Role}]
    return roles or list(DEFAULT_APPROVERS)


def approval_of(session: Session, *, deployment_id: str) -> ApprovalRequest | None:
    """The approval request of a deployment, if it has one."""
    return session.scalar(select(ApprovalRequest).where(ApprovalRequest.deployment_id == deployment_id))


def open_request(
    session: Session,
    *,
    deployment: Deployment,
    environment: Environment,
    system: System,
    release: Release,
    roles: list[str],
    enqueue: service.Enqueue,
    now: datetime | None = None,
) -> ApprovalRequest:
    """Ask the approver roles to approve a pending deployment; it expires after the environment's TTL."""
    moment = now or utcnow()
    row = ApprovalRequest(
        deployment_id=deployment.id,
        approver_roles=roles,
        requested_by_id=deployment.requested_by_id,
        expires_at=moment + timedelta(hours=max(1, environment.approval_ttl_hours)),
        created_at=moment,
    )
    session.add(row)
    session.flush()
    notify(
        session,
        event="approval.requested",
        data=notice(system=system, deployment=deployment, release=release, requester=deployment.requested_by),
        enqueue=enqueue,
        domain_id=system.domain_id,
        dedup_key=f"approval:{row.id}:requested",
    )
    return row


def notice(*, system: System, deployment: Deployment, release: Release, **extra: Any) -> dict[str, Any]:
    """The data of an approval notification."""
    return {
        "system": system.slug,
        "env": deployment.environment,
        "version": release.version,
        "deployment_id": deployment.id,
        **extra,
    }


def set_approval_state(
    session: Session, *, approval_id: str, to: ApprovalState, reason: str, actor_id: str | None, **values: Any
) -> Transition:
    """Move an approval request through its state machine, with a history row."""
    return set_state(
        session,
        machine=APPROVAL_MACHINE,
        model=ApprovalRequest,
        row_id=approval_id,
        to=to,
        values=values,
        history=lambda old, new: ApprovalStateChange(
            approval_id=approval_id, from_state=old, to_state=new, reason=reason[:2000], actor_id=actor_id
        ),
    )


def may_decide(principal: Principal, *, approval: ApprovalRequest) -> bool:
    """Tell whether a principal holds a role allowed to decide an approval request (admins always)."""
    if Role.admin in principal.roles:
        return True
    return bool({r.value for r in principal.roles} & set(approval.approver_roles or []))


def pending_for(
    session: Session, *, principal: Principal, now: datetime | None = None
) -> list[ApprovalRequest]:
    """Pending, unexpired requests the principal may decide: their roles, their domains, not their own."""
    moment = now or utcnow()
    query = (
        select(ApprovalRequest)
        .join(Deployment, Deployment.id == ApprovalRequest.deployment_id)
        .where(ApprovalRequest.state == ApprovalState.pending.value, ApprovalRequest.expires_at > moment)
        .order_by(ApprovalRequest.expires_at, ApprovalRequest.id)
    )
    if not principal.has(Permission.domains_all):
        query = query.where(Deployment.domain_id.in_(principal.domain_ids))
    rows = session.scalars(query).all()
    return [r for r in rows if r.requested_by_id != principal.user_id and may_decide(principal, approval=r)]


def expire(session: Session, *, now: datetime | None = None) -> int:
    """Expire pending requests past their deadline and cancel their deployments; return how many."""
    moment = now or utcnow()
    rows = session.scalars(
        select(ApprovalRequest).where(
            ApprovalRequest.state == ApprovalState.pending.value, ApprovalRequest.expires_at <= moment
        )
    ).all()
    count = 0
    for row in rows:
        done = set_approval_state(
            session, approval_id=row.id, to=ApprovalState.expired, reason="approval expired", actor_id=None,
            decided_at=moment,
        )  # fmt: skip
        if not done.accepted:
            continue
        count += 1
        service.transition(
            session,
            deployment_id=row.deployment_id,
            to=DeploymentState.cancelled,
            reason="approval expired",
            outcome="approval expired",
        )
    return count
