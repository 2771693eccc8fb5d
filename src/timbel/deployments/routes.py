"""Deployment actions API: deploy, promote (with its checklist), roll back, request; decide and list.

Every route needs ``deploy:read``; what more an action needs (``deploy:nonprod``/``deploy:prod``, an
approver role, ``approvals:prod``, administrator for emergencies) is decided by ``actions`` on the server.
Systems and deployments outside the caller's domains answer 404.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from timbel.auth.deps import require
from timbel.auth.permissions import Permission
from timbel.auth.principal import Principal
from timbel.catalog import system_service
from timbel.catalog.models import Domain
from timbel.core.deps import AuditDep, SessionDep, SettingsDep
from timbel.core.pagination import Page, PageDep, fetch_page
from timbel.deployments import actions, approvals, checklist, service
from timbel.deployments.models import ApprovalStateChange, Deployment, DeploymentState
from timbel.deployments.schemas import (
    ApprovalRead,
    ChecklistItemRead,
    ChecklistRead,
    Decision,
    DeployCreate,
    DeploymentDetail,
    DeploymentRead,
    PendingApproval,
    PromotionCreate,
    ReleaseBrief,
    RequestCreate,
    RollbackCreate,
    StateChangeRead,
)

router = APIRouter(prefix="/api/v1", tags=["deployments"])
Reader = Annotated[Principal, Depends(require(Permission.deploy_read))]


def _enqueue(request: Request) -> service.Enqueue:
    enqueue: service.Enqueue = request.app.state.jobs.enqueue
    return enqueue


def _created(response: Response, row: Deployment) -> DeploymentRead:
    response.headers["Location"] = f"/api/v1/deployments/{row.id}"
    return DeploymentRead.model_validate(row)


@router.post("/systems/{system_id}/deployments", status_code=status.HTTP_201_CREATED)
def create_system_deployment(
    system_id: str, body: DeployCreate, request: Request, response: Response, principal: Reader,
    session: SessionDep, settings: SettingsDep, audit: AuditDep,
) -> DeploymentRead:  # fmt: skip
    """Deploy a release to an environment (gated environments wait for an approver)."""
    system = system_service.get_visible_or_raise(session, principal=principal, system_id=system_id)
    release = service.find_release(session, system_id=system.id, ref=body.release)
    row = actions.deploy(
        session, principal=principal, settings=settings, ctx=audit, enqueue=_enqueue(request), system=system,
        env=body.env, release=release, reason=body.reason, emergency=body.emergency,
    )  # fmt: skip
    return _created(response, row)


@router.post("/systems/{system_id}/promotions", status_code=status.HTTP_201_CREATED)
def create_system_promotion(
    system_id: str, body: PromotionCreate, request: Request, response: Response, principal: Reader,
    session: SessionDep, settings: SettingsDep, audit: AuditDep,
) -> DeploymentRead:  # fmt: skip
    """Promote the release running in the previous environment into ``to`` (checklist first)."""
    system = system_service.get_visible_or_raise(session, principal=principal, system_id=system_id)
    row = actions.promote(
        session, principal=principal, settings=settings, ctx=audit, enqueue=_enqueue(request), system=system,
        to_env=body.to, reason=body.reason, emergency=body.emergency,
    )  # fmt: skip
    return _created(response, row)


@router.get("/systems/{system_id}/promotions/checklist")
def get_promotion_checklist(
    system_id: str,
    principal: Reader,
    session: SessionDep,
    settings: SettingsDep,
    to: Annotated[str, Query(min_length=1, max_length=32)],
) -> ChecklistRead:
    """The promotion checklist into ``to``: each item with its status and evidence."""
    system = system_service.get_visible_or_raise(session, principal=principal, system_id=system_id)
    environment = service.get_environment(session, domain_id=system.domain_id, name=to)
    previous = service.previous_environment(session, domain_id=system.domain_id, name=to)
    current = service.last_good(session, system_id=system.id, environment=previous.name) if previous else None
    release = service.get_release(session, release_id=current.release_id) if current else None
    items = checklist.promotion_checklist(session, settings=settings, system=system, to_env=to)
    return ChecklistRead(
        to=to,
        from_env=previous.name if previous else None,
        release=ReleaseBrief.model_validate(release) if release else None,
        requires_approval=environment.requires_approval,
        refused=current is None or bool(checklist.blocking_failures(items)),
        items=[ChecklistItemRead(**i.as_dict()) for i in items],
    )


@router.post("/systems/{system_id}/rollbacks", status_code=status.HTTP_201_CREATED)
def create_system_rollback(
    system_id: str, body: RollbackCreate, request: Request, response: Response, principal: Reader,
    session: SessionDep, settings: SettingsDep, audit: AuditDep,
) -> DeploymentRead:  # fmt: skip
    """Restore a release that succeeded in the environment before (default: the last good other one)."""
    system = system_service.get_visible_or_raise(session, principal=principal, system_id=system_id)
    target = (
        service.find_release(session, system_id=system.id, ref=body.to_release) if body.to_release else None
    )
    row = actions.rollback(
        session, principal=principal, settings=settings, ctx=audit, enqueue=_enqueue(request), system=system,
        env=body.env, to_release=target, reason=body.reason, emergency=body.emergency,
    )  # fmt: skip
    return _created(response, row)


@router.post("/systems/{system_id}/requests", status_code=status.HTTP_201_CREATED)
def create_system_request(
    system_id: str, body: RequestCreate, request: Request, response: Response, principal: Reader,
    session: SessionDep, settings: SettingsDep, audit: AuditDep,
) -> DeploymentRead:  # fmt: skip
    """배포 요청: ask for a deployment that waits for an approver."""
    system = system_service.get_visible_or_raise(session, principal=principal, system_id=system_id)
    release = service.find_release(session, system_id=system.id, ref=body.release)
    row = actions.request(
        session, principal=principal, settings=settings, ctx=audit, enqueue=_enqueue(request), system=system,
        env=body.env, release=release, reason=body.reason,
    )  # fmt: skip
    return _created(response, row)


@router.get("/deployments")
def list_deployments(
    principal: Reader,
    session: SessionDep,
    paging: PageDep,
    system: Annotated[str | None, Query(max_length=36)] = None,
    env: Annotated[str | None, Query(max_length=32)] = None,
    state: DeploymentState | None = None,
    domain: Annotated[str | None, Query(max_length=64, description="Domain id or code.")] = None,
) -> Page[DeploymentRead]:
    """List visible deployments, newest first (filters: system, env, state, domain)."""
    stmt: Select[Any] = select(Deployment)
    limit = system_service.visible_filter(principal, Deployment.domain_id)
    if limit is not None:
        stmt = stmt.where(limit)
    if system:
        stmt = stmt.where(Deployment.system_id == system)
    if env:
        stmt = stmt.where(Deployment.environment == env)
    if state:
        stmt = stmt.where(Deployment.state == state.value)
    if domain:
        ids = select(Domain.id).where(or_(Domain.id == domain, Domain.code == domain))
        stmt = stmt.where(Deployment.domain_id.in_(ids))
    rows, total = fetch_page(
        session, stmt, model=Deployment, order=Deployment.created_at.desc(), paging=paging
    )
    items = [DeploymentRead.model_validate(r) for r in rows]
    return Page[DeploymentRead](items=items, total=total, page=paging.page, per_page=paging.per_page)


def detail(session: Session, row: Deployment) -> DeploymentDetail:
    """A deployment with its release, state history and approval (with its history)."""
    approval = approvals.approval_of(session, deployment_id=row.id)
    approval_history = (
        session.scalars(
            select(ApprovalStateChange)
            .where(ApprovalStateChange.approval_id == approval.id)
            .order_by(ApprovalStateChange.at, ApprovalStateChange.id)
        ).all()
        if approval
        else []
    )
    release = service.get_release(session, release_id=row.release_id)
    return DeploymentDetail.model_validate(row).model_copy(
        update={
            "release": ReleaseBrief.model_validate(release),
            "checklist": list(row.checklist or []),
            "history": [
                StateChangeRead.model_validate(h) for h in service.history(session, deployment_id=row.id)
            ],
            "approval": ApprovalRead.model_validate(approval) if approval else None,
            "approval_history": [StateChangeRead.model_validate(h) for h in approval_history],
        }
    )


@router.get("/deployments/{deployment_id}")
def get_deployment_detail(deployment_id: str, principal: Reader, session: SessionDep) -> DeploymentDetail:
    """Read a deployment with its state history and approval."""
    row = actions.visible_deployment(session, principal=principal, deployment_id=deployment_id)
    return detail(session, row)


@router.post("/deployments/{deployment_id}/approve")
def approve_deployment(
    deployment_id: str, body: Decision, request: Request, principal: Reader, session: SessionDep,
    audit: AuditDep,
) -> DeploymentDetail:  # fmt: skip
    """Approve a pending deployment (never your own request); it then executes."""
    row = actions.approve(
        session, principal=principal, ctx=audit, enqueue=_enqueue(request), deployment_id=deployment_id,
        comment=body.text,
    )  # fmt: skip
    return detail(session, row)


@router.post("/deployments/{deployment_id}/reject")
def reject_deployment(
    deployment_id: str, body: Decision, request: Request, principal: Reader, session: SessionDep,
    audit: AuditDep,
) -> DeploymentDetail:  # fmt: skip
    """Reject a pending deployment with a comment."""
    row = actions.reject(
        session, principal=principal, ctx=audit, enqueue=_enqueue(request), deployment_id=deployment_id,
        comment=body.text,
    )  # fmt: skip
    return detail(session, row)


@router.post("/deployments/{deployment_id}/cancel")
def cancel_deployment(
    deployment_id: str, body: Decision, request: Request, principal: Reader, session: SessionDep,
    audit: AuditDep,
) -> DeploymentDetail:  # fmt: skip
    """Cancel a waiting deployment (requester or administrator)."""
    row = actions.cancel(
        session, principal=principal, ctx=audit, enqueue=_enqueue(request), deployment_id=deployment_id,
        reason=body.text,
    )  # fmt: skip
    return detail(session, row)


@router.get("/approvals")
def list_my_approvals(principal: Reader, session: SessionDep) -> list[PendingApproval]:
    """Approval requests waiting for the caller (their roles and domains, never their own)."""
    found: list[PendingApproval] = []
    for approval in approvals.pending_for(session, principal=principal):
        row = service.get_deployment(session, deployment_id=approval.deployment_id)
        system = system_service.get_visible_or_raise(session, principal=principal, system_id=row.system_id)
        found.append(
            PendingApproval(
                approval=ApprovalRead.model_validate(approval),
                deployment=DeploymentRead.model_validate(row),
                system_slug=system.slug,
                release=ReleaseBrief.model_validate(service.get_release(session, release_id=row.release_id)),
            )
        )
    return found
