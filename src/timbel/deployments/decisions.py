"""Approve, reject or cancel a pending deployment (re-exported by ``timbel.deployments.actions``).

The requester never decides their own request — administrators included (they use an emergency
deployment instead); approvers hold one of the request's roles (admins always may) and, for gated
environments, ``approvals:prod``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from timbel.audit.service import AuditContext, record
from timbel.auth.permissions import Permission, Role
from timbel.auth.principal import Principal
from timbel.catalog.models import System
from timbel.core.db import utcnow
from timbel.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from timbel.deployments import approvals, freeze, service
from timbel.deployments.models import ApprovalRequest, ApprovalState, Deployment, DeploymentState, Environment
from timbel.deployments.service import Enqueue
from timbel.notifications.service import notify

SELF_APPROVAL = (
    "You asked for this deployment, so someone else must decide it. "
    "Administrators use an emergency deployment instead."
)


def visible_deployment(session: Session, *, principal: Principal, deployment_id: str) -> Deployment:
    """A deployment in one of the principal's domains (others answer 404 like a missing one)."""
    row = session.get(Deployment, deployment_id)
    if row is None or not (principal.has(Permission.domains_all) or row.domain_id in principal.domain_ids):
        raise NotFound("Deployment not found.")
    return row


def _pending(session: Session, *, deployment: Deployment, now: datetime) -> ApprovalRequest:
    approval = approvals.approval_of(session, deployment_id=deployment.id)
    if approval is None or deployment.state != DeploymentState.pending_approval.value:
        raise Conflict(f"This deployment is {deployment.state}; there is nothing to decide.")
    if approval.state != ApprovalState.pending.value:
        raise Conflict(f"This approval request is already {approval.state}.")
    if approval.expires_at <= now:
        raise Conflict("This approval request has expired; ask again.")
    return approval


def _check_decider(
    principal: Principal,
    *,
    deployment: Deployment,
    approval: ApprovalRequest,
    environment: Environment | None,
) -> None:
    if principal.user_id in (deployment.requested_by_id, approval.requested_by_id):
        raise PermissionDenied(SELF_APPROVAL)
    if not approvals.may_decide(principal, approval=approval):
        roles = ", ".join(approval.approver_roles or [])
        raise PermissionDenied(f"Only these roles may decide this request: {roles}.")
    gated = environment is None or environment.requires_approval
    if gated and not principal.has(Permission.approvals_prod):
        raise PermissionDenied(f"This needs the permission {Permission.approvals_prod.value}.")


def _context(session: Session, deployment: Deployment) -> tuple[System, Environment | None, str]:
    system = session.get(System, deployment.system_id)
    if system is None:
        raise NotFound("No such system.")
    environment = session.get(Environment, deployment.environment_id) if deployment.environment_id else None
    release = service.get_release(session, release_id=deployment.release_id)
    return system, environment, release.version


def approve(
    session: Session,
    *,
    principal: Principal,
    ctx: AuditContext,
    enqueue: Enqueue,
    deployment_id: str,
    comment: str,
    now: datetime | None = None,
) -> Deployment:
    """Approve a pending deployment; it then executes by itself."""
    moment = now or utcnow()
    deployment = visible_deployment(session, principal=principal, deployment_id=deployment_id)
    approval = _pending(session, deployment=deployment, now=moment)
    system, environment, version = _context(session, deployment)
    _check_decider(principal, deployment=deployment, approval=approval, environment=environment)
    window = freeze.active_window(environment, now=moment) if environment is not None else None
    if window is not None and not deployment.emergency:
        raise Conflict(
            f"{deployment.environment} is frozen: {freeze.describe(window)}. Approve it afterwards."
        )
    decided = approvals.set_approval_state(
        session, approval_id=approval.id, to=ApprovalState.approved, reason=comment or "approved",
        actor_id=principal.user_id, decided_by_id=principal.user_id, decided_at=moment, comment=comment,
    )  # fmt: skip
    if not decided.accepted:
        raise Conflict("This approval request was decided meanwhile.")
    done = service.transition(
        session, deployment_id=deployment.id, to=DeploymentState.approved, reason=comment or "approved",
        actor_id=principal.user_id, approved_by_id=principal.user_id, approved_at=moment,
    )  # fmt: skip
    if not done.accepted:
        raise Conflict(f"The deployment could not be approved: {done.refusal}.")
    service.schedule_execution(session, deployment_id=deployment.id, enqueue=enqueue)
    _announce(session, ctx=ctx, enqueue=enqueue, decided="approved", principal=principal, approval=approval,
              deployment=deployment, system=system, version=version, comment=comment)  # fmt: skip
    return deployment


def reject(
    session: Session,
    *,
    principal: Principal,
    ctx: AuditContext,
    enqueue: Enqueue,
    deployment_id: str,
    comment: str,
    now: datetime | None = None,
) -> Deployment:
    """Reject a pending deployment, saying why."""
    moment = now or utcnow()
    if not comment.strip():
        raise ValidationFailed(
            "Rejecting needs a comment saying why.",
            errors=[{"loc": ["body", "comment"], "type": "missing", "msg": "Say why."}],
        )
    deployment = visible_deployment(session, principal=principal, deployment_id=deployment_id)
    approval = _pending(session, deployment=deployment, now=moment)
    system, environment, version = _context(session, deployment)
    _check_decider(principal, deployment=deployment, approval=approval, environment=environment)
    decided = approvals.set_approval_state(
        session, approval_id=approval.id, to=ApprovalState.rejected, reason=comment,
        actor_id=principal.user_id, decided_by_id=principal.user_id, decided_at=moment, comment=comment,
    )  # fmt: skip
    if not decided.accepted:
        raise Conflict("This approval request was decided meanwhile.")
    done = service.transition(
        session, deployment_id=deployment.id, to=DeploymentState.rejected, reason=comment,
        actor_id=principal.user_id, outcome=f"rejected by {principal.username}: {comment}",
    )  # fmt: skip
    if not done.accepted:
        raise Conflict(f"The deployment could not be rejected: {done.refusal}.")
    _announce(session, ctx=ctx, enqueue=enqueue, decided="rejected", principal=principal, approval=approval,
              deployment=deployment, system=system, version=version, comment=comment)  # fmt: skip
    return deployment


def _announce(
    session: Session, *, ctx: AuditContext, enqueue: Enqueue, decided: str, principal: Principal,
    approval: ApprovalRequest, deployment: Deployment, system: System, version: str, comment: str,
) -> None:  # fmt: skip
    """Notify the subscribed channels of a decision (``approved``/``rejected``) and audit it."""
    data = {"system": system.slug, "env": deployment.environment, "version": version,
            "approver": principal.username, "reason": comment, "deployment_id": deployment.id}  # fmt: skip
    notify(session, event=f"approval.{decided}", data=data, enqueue=enqueue, domain_id=system.domain_id,
           dedup_key=f"approval:{approval.id}:{decided}")  # fmt: skip
    action = "approve" if decided == "approved" else "reject"
    record(session, ctx=ctx, action=f"deployment.{action}", target_type="deployment", target_id=deployment.id,
           summary=f"{decided.capitalize()} {system.slug} {version} → {deployment.environment}",
           changes={"comment": comment, "approval_id": approval.id})  # fmt: skip


def cancel(
    session: Session,
    *,
    principal: Principal,
    ctx: AuditContext,
    enqueue: Enqueue,
    deployment_id: str,
    reason: str,
    now: datetime | None = None,
) -> Deployment:
    """Cancel a deployment still waiting (for approval, or approved but not started): requester or admin."""
    moment = now or utcnow()
    deployment = visible_deployment(session, principal=principal, deployment_id=deployment_id)
    if principal.user_id != deployment.requested_by_id and Role.admin not in principal.roles:
        raise PermissionDenied("Only the requester or an administrator may cancel this deployment.")
    waiting = deployment.state == DeploymentState.pending_approval.value or (
        deployment.state == DeploymentState.approved.value and deployment.started_at is None
    )
    if not waiting:
        raise Conflict(f"This deployment is {deployment.state}; only a waiting deployment can be cancelled.")
    why = reason.strip() or "cancelled"
    done = service.transition(
        session, deployment_id=deployment.id, to=DeploymentState.cancelled, reason=why,
        actor_id=principal.user_id, outcome=f"cancelled by {principal.username}: {why}",
    )  # fmt: skip
    if not done.accepted:
        raise Conflict(f"The deployment could not be cancelled: {done.refusal}.")
    approval = approvals.approval_of(session, deployment_id=deployment.id)
    if approval is not None and approval.state == ApprovalState.pending.value:
        approvals.set_approval_state(
            session, approval_id=approval.id, to=ApprovalState.cancelled, reason=why,
            actor_id=principal.user_id, decided_at=moment,
        )  # fmt: skip
    record(session, ctx=ctx, action="deployment.cancel", target_type="deployment", target_id=deployment.id,
           summary=f"Cancelled the {deployment.environment} deployment", changes={"reason": why})  # fmt: skip
    return deployment
