"""Deploy, promote, request, roll back: the policy around starting a deployment, all decided here.

Who may do what (server-side, whatever the page showed): ``deploy:nonprod`` for environments without an
approval gate, ``deploy:prod`` for gated ones (which then wait for an approver); principals outside the
system's domain get 404; freeze windows refuse unless an administrator declares an emergency with a reason
(which also skips the approval gate and is audited as ``deployment.emergency``). Deciding and cancelling
live in ``decisions``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from timbel.audit.service import AuditContext, record
from timbel.auth.permissions import Permission, Role
from timbel.auth.principal import Principal
from timbel.catalog.models import System
from timbel.core.db import utcnow
from timbel.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from timbel.deployments import approvals, checklist, freeze, service
from timbel.deployments.decisions import approve, cancel, reject, visible_deployment
from timbel.deployments.models import Deployment, DeploymentKind, DeploymentState, Environment, Release
from timbel.deployments.service import Enqueue

__all__ = [
    "approve", "cancel", "deploy", "ensure_visible", "may_deploy", "promote", "reject", "request",
    "rollback", "visible_deployment",
]  # fmt: skip


def ensure_visible(principal: Principal, *, system: System) -> None:
    """Raise NotFound unless the principal may see the system's domain."""
    if not (principal.has(Permission.domains_all) or system.domain_id in principal.domain_ids):
        raise NotFound("No such system.")


def may_deploy(principal: Principal, *, environment: Environment) -> bool:
    """Tell whether a principal may start a deployment to an environment (maybe pending approval)."""
    needed = Permission.deploy_prod if environment.requires_approval else Permission.deploy_nonprod
    return principal.has(Permission.deploy_read) and principal.has(needed)


def _check_deploy(principal: Principal, *, environment: Environment) -> None:
    if not may_deploy(principal, environment=environment):
        needed = Permission.deploy_prod if environment.requires_approval else Permission.deploy_nonprod
        raise PermissionDenied(f"Deploying to {environment.name} needs the permission {needed.value}.")


def _check_emergency(principal: Principal, *, emergency: bool, reason: str) -> None:
    if not emergency:
        return
    if Role.admin not in principal.roles:
        raise PermissionDenied("Only an administrator may declare an emergency deployment.")
    if not reason.strip():
        raise ValidationFailed(
            "An emergency deployment needs a reason.",
            errors=[{"loc": ["body", "reason"], "type": "missing", "msg": "An emergency needs a reason."}],
        )


def _check_freeze(environment: Environment, *, emergency: bool, now: datetime) -> None:
    window = freeze.active_window(environment, now=now)
    if window is not None and not emergency:
        raise Conflict(
            f"{environment.name} is frozen: {freeze.describe(window)}. "
            "Only an administrator's emergency deployment (with a reason) may go in now."
        )


def _check_release(system: System, release: Release) -> None:
    if release.system_id != system.id:
        raise NotFound(f"Release '{release.version}' does not belong to this system.")


def _start(
    session: Session,
    *,
    principal: Principal,
    ctx: AuditContext,
    enqueue: Enqueue,
    system: System,
    environment: Environment,
    release: Release,
    kind: DeploymentKind,
    reason: str,
    emergency: bool,
    now: datetime,
    items: Sequence[checklist.ChecklistItem] = (),
    rollback_of_id: str | None = None,
) -> Deployment:
    gated = kind is DeploymentKind.request or (environment.requires_approval and not emergency)
    state = DeploymentState.pending_approval if gated else DeploymentState.approved
    row = service.create_deployment(
        session,
        system=system,
        environment=environment,
        release=release,
        kind=kind,
        state=state,
        requested_by_id=principal.user_id,
        requested_by=principal.username,
        reason=reason,
        enqueue=enqueue,
        emergency=emergency,
        checklist=[i.as_dict() for i in items],
        rollback_of_id=rollback_of_id,
    )
    if gated:
        approvals.open_request(
            session, deployment=row, environment=environment, system=system, release=release,
            roles=approvals.approver_roles(environment), enqueue=enqueue, now=now,
        )  # fmt: skip
    changes: dict[str, Any] = {
        "system_id": system.id, "environment": environment.name, "release": release.version,
        "state": state.value, "emergency": emergency, "reason": reason,
    }  # fmt: skip
    summary = f"{kind.value} {system.slug} {release.version} → {environment.name} ({state.value})"
    record(session, ctx=ctx, action=f"deployment.{kind.value}", target_type="deployment", target_id=row.id,
           summary=summary, changes=changes)  # fmt: skip
    if emergency:
        record(session, ctx=ctx, action="deployment.emergency", target_type="deployment", target_id=row.id,
               summary=f"Emergency {summary}: {reason}", changes=changes)  # fmt: skip
    return row


def deploy(
    session: Session,
    *,
    principal: Principal,
    settings: Any,
    ctx: AuditContext,
    enqueue: Enqueue,
    system: System,
    env: str,
    release: Release,
    reason: str,
    emergency: bool = False,
    now: datetime | None = None,
) -> Deployment:
    """Deploy a release straight to an environment (pending approval where the environment is gated)."""
    moment = now or utcnow()
    ensure_visible(principal, system=system)
    environment = service.get_environment(session, domain_id=system.domain_id, name=env)
    _check_deploy(principal, environment=environment)
    _check_emergency(principal, emergency=emergency, reason=reason)
    _check_release(system, release)
    _check_freeze(environment, emergency=emergency, now=moment)
    return _start(
        session, principal=principal, ctx=ctx, enqueue=enqueue, system=system, environment=environment,
        release=release, kind=DeploymentKind.deploy, reason=reason, emergency=emergency, now=moment,
    )  # fmt: skip


def promotable(session: Session, *, system: System, to_env: str) -> tuple[Environment, Deployment]:
    """The previous environment and its current (succeeded) deployment, or a clear 409."""
    previous = service.previous_environment(session, domain_id=system.domain_id, name=to_env)
    if previous is None:
        raise Conflict(f"{to_env} is the first environment; deploy a release to it instead of promoting.")
    current = service.last_good(session, system_id=system.id, environment=previous.name)
    if current is None:
        raise Conflict(f"Nothing has succeeded in {previous.name} yet, so there is no release to promote.")
    return previous, current


def promote(
    session: Session,
    *,
    principal: Principal,
    settings: Any,
    ctx: AuditContext,
    enqueue: Enqueue,
    system: System,
    to_env: str,
    reason: str,
    emergency: bool = False,
    now: datetime | None = None,
) -> Deployment:
    """Promote the release running in the previous environment, after the checklist passes."""
    moment = now or utcnow()
    ensure_visible(principal, system=system)
    environment = service.get_environment(session, domain_id=system.domain_id, name=to_env)
    _check_deploy(principal, environment=environment)
    _check_emergency(principal, emergency=emergency, reason=reason)
    _previous, current = promotable(session, system=system, to_env=to_env)
    release = service.get_release(session, release_id=current.release_id)
    items = checklist.promotion_checklist(
        session, settings=settings, system=system, to_env=to_env, now=moment
    )
    failing = checklist.blocking_failures(items)
    if failing and not emergency:
        raise Conflict(
            "The promotion checklist refuses: " + "; ".join(f"{i.key}: {i.evidence}" for i in failing),
            errors=[
                {**i.as_dict(), "loc": ["checklist", i.key], "type": "checklist." + i.key} for i in items
            ],
        )
    return _start(
        session, principal=principal, ctx=ctx, enqueue=enqueue, system=system, environment=environment,
        release=release, kind=DeploymentKind.promote, reason=reason, emergency=emergency, now=moment,
        items=items,
    )  # fmt: skip


def request(
    session: Session,
    *,
    principal: Principal,
    settings: Any,
    ctx: AuditContext,
    enqueue: Enqueue,
    system: System,
    env: str,
    release: Release,
    reason: str,
    now: datetime | None = None,
) -> Deployment:
    """배포 요청: ask for a deployment that always waits for an approver (never the requester)."""
    moment = now or utcnow()
    ensure_visible(principal, system=system)
    environment = service.get_environment(session, domain_id=system.domain_id, name=env)
    _check_deploy(principal, environment=environment)
    _check_release(system, release)
    if not reason.strip():
        raise ValidationFailed(
            "A deployment request needs a reason.",
            errors=[{"loc": ["body", "reason"], "type": "missing", "msg": "A request needs a reason."}],
        )
    return _start(
        session, principal=principal, ctx=ctx, enqueue=enqueue, system=system, environment=environment,
        release=release, kind=DeploymentKind.request, reason=reason, emergency=False, now=moment,
    )  # fmt: skip


def good_releases(session: Session, *, system_id: str, env: str) -> list[tuple[Release, Deployment]]:
    """Releases that succeeded in an environment, newest success first, each once."""
    rows = session.scalars(
        select(Deployment)
        .where(
            Deployment.system_id == system_id,
            Deployment.environment == env,
            Deployment.state == DeploymentState.succeeded.value,
        )
        .order_by(Deployment.finished_at.desc(), Deployment.created_at.desc())
    ).all()
    seen: dict[str, tuple[Release, Deployment]] = {}
    for row in rows:
        if row.release_id not in seen:
            seen[row.release_id] = (service.get_release(session, release_id=row.release_id), row)
    return list(seen.values())


def rollback(
    session: Session,
    *,
    principal: Principal,
    settings: Any,
    ctx: AuditContext,
    enqueue: Enqueue,
    system: System,
    env: str,
    to_release: Release | None,
    reason: str,
    emergency: bool = False,
    now: datetime | None = None,
) -> Deployment:
    """Restore a release that succeeded in the environment before (default: the last good other one)."""
    moment = now or utcnow()
    ensure_visible(principal, system=system)
    environment = service.get_environment(session, domain_id=system.domain_id, name=env)
    _check_deploy(principal, environment=environment)
    _check_emergency(principal, emergency=emergency, reason=reason)
    current = service.last_good(session, system_id=system.id, environment=env)
    good = good_releases(session, system_id=system.id, env=env)
    if to_release is None:
        others = [r for r, _d in good if current is None or r.id != current.release_id]
        if not others:
            raise Conflict(f"No earlier good release in {env} to roll back to.")
        target = others[0]
    else:
        _check_release(system, to_release)
        if to_release.id not in {r.id for r, _d in good}:
            raise Conflict(
                f"{to_release.version} never succeeded in {env}; only a good release can be restored."
            )
        if current is not None and current.release_id == to_release.id:
            raise Conflict(f"{to_release.version} is already the release running in {env}.")
        target = to_release
    _check_freeze(environment, emergency=emergency, now=moment)
    return _start(
        session, principal=principal, ctx=ctx, enqueue=enqueue, system=system, environment=environment,
        release=target, kind=DeploymentKind.rollback, reason=reason, emergency=emergency, now=moment,
        rollback_of_id=current.id if current else None,
    )  # fmt: skip
