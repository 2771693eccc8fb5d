"""One deployment in full: state history (who, when, why), release, target, GitOps commit, commits included,
checks and outcome, approval, and the rollbacks it caused or undid."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from timbel.catalog.models import Domain, System
from timbel.deployments import service
from timbel.deployments.models import ACTIVE_STATES, TERMINAL_STATES, ApprovalRequest, Deployment, Environment
from timbel.deployments.read_service import deployment_summary, image_rows, releases_by_id, usernames


def _approval(session: Session, row: Deployment, names: dict[str, str]) -> dict[str, Any] | None:
    approval = session.scalar(select(ApprovalRequest).where(ApprovalRequest.deployment_id == row.id))
    if approval is None:
        return None
    return {
        "id": approval.id,
        "state": approval.state,
        "approver_roles": list(approval.approver_roles),
        "requested_by": names.get(approval.requested_by_id or "", ""),
        "decided_by": names.get(approval.decided_by_id or "", ""),
        "comment": approval.comment,
        "expires_at": approval.expires_at,
        "created_at": approval.created_at,
        "decided_at": approval.decided_at,
    }


def _link(session: Session, deployment_id: str | None) -> dict[str, Any] | None:
    if not deployment_id:
        return None
    other = session.get(Deployment, deployment_id)
    if other is None:
        return None
    return {"id": other.id, "state": other.state, "kind": other.kind, "created_at": other.created_at}


def change_marker(session: Session, *, deployment_id: str) -> tuple[Any, ...]:
    """What changes when the deployment page must refresh: state, health, progress, history length."""
    row = session.get(Deployment, deployment_id)
    if row is None:
        return ()
    count = len(service.history(session, deployment_id=deployment_id))
    approval = session.scalar(
        select(ApprovalRequest.state).where(ApprovalRequest.deployment_id == deployment_id)
    )
    return (
        row.state,
        row.health,
        row.verified,
        row.gitops_sha,
        len(row.checks),
        count,
        approval,
        row.rolled_back_by_id,
        str(row.progress.get("step", "")) if isinstance(row.progress, dict) else "",
    )


def detail(session: Session, *, deployment: Deployment) -> dict[str, Any]:
    """Everything the deployment page and ``GET /api/v1/deployments/{id}`` show."""
    row = deployment
    history = service.history(session, deployment_id=row.id)
    approval_row = session.scalar(select(ApprovalRequest).where(ApprovalRequest.deployment_id == row.id))
    ids = [row.requested_by_id, row.approved_by_id, *(h.actor_id for h in history)]
    if approval_row is not None:
        ids += [approval_row.requested_by_id, approval_row.decided_by_id]
    names = usernames(session, ids)
    releases = releases_by_id(session, [row.release_id, row.previous_release_id])
    release = releases.get(row.release_id)
    previous = releases.get(row.previous_release_id or "")
    system = session.get(System, row.system_id)
    domain = session.get(Domain, row.domain_id)
    environment = session.get(Environment, row.environment_id) if row.environment_id else None
    gitops_url = (
        f"/deploy/systems/{row.system_id}/gitops?env={row.environment}&sha={row.gitops_sha}"
        if row.gitops_sha
        else None
    )
    return {
        **deployment_summary(row, release, names),
        "system": {
            "id": row.system_id,
            "slug": system.slug if system else "",
            "name": system.name if system else "",
        },
        "domain": {
            "id": row.domain_id,
            "code": domain.code if domain else "",
            "name": domain.name if domain else "",
        },
        "terminal": row.state in TERMINAL_STATES,
        "active": row.state in ACTIVE_STATES,
        "outcome": row.outcome,
        "verified": row.verified,
        "target_kind": row.target_kind,
        "target": {
            "kind": row.target_kind,
            "argocd_integration_id": environment.argocd_integration_id if environment else None,
            "application_pattern": environment.application_pattern if environment else "",
            "kubernetes_integration_id": environment.kubernetes_integration_id if environment else None,
            "namespace_pattern": environment.namespace_pattern if environment else "",
        },
        "release": None
        if release is None
        else {
            "id": release.id,
            "version": release.version,
            "source_commit": release.source_commit,
            "chart_version": release.chart_version,
            "images": image_rows(release),
        },
        "previous_release": None if previous is None else {"id": previous.id, "version": previous.version},
        "approved_by": names.get(row.approved_by_id or "", ""),
        "approved_at": row.approved_at,
        "gitops_repository": row.gitops_repository,
        "gitops_url": gitops_url,
        "commits": list(row.commits),
        "checks": list(row.checks),
        "checklist": list(row.checklist),
        "progress": dict(row.progress) if isinstance(row.progress, dict) else {},
        "attempts": row.attempts,
        "history": [
            {
                "from": h.from_state,
                "to": h.to_state,
                "reason": h.reason,
                "actor": names.get(h.actor_id or "", ""),
                "at": h.at,
            }
            for h in history
        ],
        "approval": _approval(session, row, names),
        "rollback_of": _link(session, row.rollback_of_id),
        "rolled_back_by": _link(session, row.rolled_back_by_id),
    }
