"""Deployment ORM models: environments per domain, immutable releases, deployments, approvals, history."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from timbel.core.db import Base, new_id, utcnow
from timbel.core.states import Machine


class TargetKind(StrEnum):
    """Where an environment's GitOps commit goes live: nowhere (GitOps only), Argo CD, or a cluster."""

    gitops = "gitops"
    argocd = "argocd"
    kubernetes = "kubernetes"


class DeploymentKind(StrEnum):
    """Why a deployment exists."""

    deploy = "deploy"  # a release straight to an environment
    promote = "promote"  # the release running in the previous environment
    request = "request"  # 배포 요청: always needs an approver
    rollback = "rollback"  # an operator restores an earlier good release
    auto_rollback = "auto_rollback"  # Timbel restores the last good release after a failed verification


class DeploymentState(StrEnum):
    """The life of a deployment."""

    pending_approval = "pending_approval"
    approved = "approved"
    syncing = "syncing"
    verifying = "verifying"
    succeeded = "succeeded"
    failed = "failed"
    rolled_back = "rolled_back"
    rejected = "rejected"
    cancelled = "cancelled"


D = DeploymentState
DEPLOYMENT_MACHINE: Machine[DeploymentState] = Machine(
    "deployment",
    {
        D.pending_approval: frozenset({D.approved, D.rejected, D.cancelled}),
        D.approved: frozenset({D.syncing, D.failed, D.cancelled}),
        D.syncing: frozenset({D.verifying, D.failed, D.rolled_back, D.cancelled}),
        D.verifying: frozenset({D.succeeded, D.failed, D.rolled_back}),
        D.succeeded: frozenset(),
        D.failed: frozenset(),
        D.rolled_back: frozenset(),
        D.rejected: frozenset(),
        D.cancelled: frozenset(),
    },
)
TERMINAL_STATES = frozenset(s.value for s in DeploymentState if DEPLOYMENT_MACHINE.terminal(s))
ACTIVE_STATES = frozenset({D.approved.value, D.syncing.value, D.verifying.value})


class ApprovalState(StrEnum):
    """The life of an approval request."""

    pending = "pending"
    approved = "approved"
    rejected = "rejected"
    expired = "expired"
    cancelled = "cancelled"


A = ApprovalState
APPROVAL_MACHINE: Machine[ApprovalState] = Machine(
    "approval",
    {
        A.pending: frozenset({A.approved, A.rejected, A.expired, A.cancelled}),
        A.approved: frozenset(),
        A.rejected: frozenset(),
        A.expired: frozenset(),
        A.cancelled: frozenset(),
    },
)


class Environment(Base):
    """One environment of a domain's systems (dev, stg, prod by default): order, target and gates."""

    __tablename__ = "deploy_environments"
    __table_args__ = (UniqueConstraint("domain_id", "name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    domain_id: Mapped[str] = mapped_column(ForeignKey("domains.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(Integer, default=0)
    target_kind: Mapped[str] = mapped_column(String(16), default=TargetKind.gitops.value)
    # Argo CD: the instance and the Application name pattern ({domain}, {system}, {env}).
    argocd_integration_id: Mapped[str | None] = mapped_column(
        ForeignKey("integrations.id", ondelete="SET NULL"), nullable=True
    )
    application_pattern: Mapped[str] = mapped_column(String(200), default="{domain}-{system}-{env}")
    # Kubernetes: the cluster instance for direct server-side apply of the rendered chart.
    kubernetes_integration_id: Mapped[str | None] = mapped_column(
        ForeignKey("integrations.id", ondelete="SET NULL"), nullable=True
    )
    namespace_pattern: Mapped[str] = mapped_column(String(200), default="{domain}-{system}-{env}")
    requires_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    approver_roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    approval_ttl_hours: Mapped[int] = mapped_column(Integer, default=72)
    # Promotion checklist: the previous environment must have been healthy this long.
    healthy_minutes: Mapped[int] = mapped_column(Integer, default=0)
    health_timeout_seconds: Mapped[int] = mapped_column(Integer, default=600)
    verify_window_seconds: Mapped[int] = mapped_column(Integer, default=60)
    auto_rollback: Mapped[bool] = mapped_column(Boolean, default=True)
    # [{"starts_at": iso, "ends_at": iso, "reason": str}], UTC.
    freeze_windows: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(default=utcnow, onupdate=utcnow, nullable=True)


class Release(Base):
    """An immutable release of a system: version label, image per service, source commit, chart, values."""

    __tablename__ = "deploy_releases"
    __table_args__ = (UniqueConstraint("system_id", "version"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    system_id: Mapped[str] = mapped_column(ForeignKey("systems.id", ondelete="CASCADE"), index=True)
    version: Mapped[str] = mapped_column(String(100))
    source_commit: Mapped[str] = mapped_column(String(64))
    # [{"service": str, "repository": str, "tag": str, "digest": str | None}], sorted by service.
    images: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    chart_version: Mapped[str] = mapped_column(String(100), default="")
    # What the release writes into an environment's values file: {"services": {name: {"image": {...}}}}.
    values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    values_hash: Mapped[str] = mapped_column(String(64), default="")
    pipeline_run_id: Mapped[str | None] = mapped_column(
        ForeignKey("pipeline_runs.id", ondelete="SET NULL"), nullable=True, unique=True
    )
    notes: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Deployment(Base):
    """A release going to one environment of a system: approval, GitOps commit, sync, verification."""

    __tablename__ = "deployments"
    __table_args__ = (
        Index("ix_deployments_system_env_created", "system_id", "environment", "created_at"),
        Index("ix_deployments_state", "state"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    system_id: Mapped[str] = mapped_column(ForeignKey("systems.id", ondelete="CASCADE"))
    domain_id: Mapped[str] = mapped_column(ForeignKey("domains.id", ondelete="CASCADE"), index=True)
    environment_id: Mapped[str | None] = mapped_column(
        ForeignKey("deploy_environments.id", ondelete="SET NULL"), nullable=True
    )
    environment: Mapped[str] = mapped_column(String(32))
    release_id: Mapped[str] = mapped_column(ForeignKey("deploy_releases.id", ondelete="RESTRICT"), index=True)
    previous_release_id: Mapped[str | None] = mapped_column(
        ForeignKey("deploy_releases.id", ondelete="SET NULL"), nullable=True
    )
    kind: Mapped[str] = mapped_column(String(16), default=DeploymentKind.deploy.value)
    state: Mapped[str] = mapped_column(String(20), default=DeploymentState.approved.value)
    target_kind: Mapped[str] = mapped_column(String(16), default=TargetKind.gitops.value)
    reason: Mapped[str] = mapped_column(Text, default="")  # why it was asked (commit message "why")
    outcome: Mapped[str] = mapped_column(Text, default="")  # why it ended as it did
    emergency: Mapped[bool] = mapped_column(Boolean, default=False)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    health: Mapped[str] = mapped_column(String(32), default="")
    checks: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # The promotion checklist as shown when it was asked: [{"key", "passed", "evidence"}].
    checklist: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    rollback_of_id: Mapped[str | None] = mapped_column(
        ForeignKey("deployments.id", ondelete="SET NULL"), nullable=True
    )
    rolled_back_by_id: Mapped[str | None] = mapped_column(
        ForeignKey("deployments.id", ondelete="SET NULL"), nullable=True
    )
    gitops_repository: Mapped[str] = mapped_column(String(200), default="")
    gitops_sha: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Source commits since the previous deployment in this environment: [{"sha", "subject", "author", "at"}].
    commits: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Where execution is, for resuming after a lost worker: {"step": ..., ...}.
    progress: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    requested_by_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    requested_by: Mapped[str] = mapped_column(String(200), default="")
    approved_by_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_at: Mapped[datetime | None] = mapped_column(nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class DeploymentStateChange(Base):
    """One accepted state change of a deployment, with the reason and who caused it."""

    __tablename__ = "deployment_state_changes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    deployment_id: Mapped[str] = mapped_column(ForeignKey("deployments.id", ondelete="CASCADE"), index=True)
    from_state: Mapped[str] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class EnvironmentLock(Base):
    """Held by the one deployment that is changing a system's environment; deployments there serialise."""

    __tablename__ = "deploy_locks"

    system_id: Mapped[str] = mapped_column(ForeignKey("systems.id", ondelete="CASCADE"), primary_key=True)
    environment: Mapped[str] = mapped_column(String(32), primary_key=True)
    deployment_id: Mapped[str] = mapped_column(ForeignKey("deployments.id", ondelete="CASCADE"))
    acquired_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApprovalRequest(Base):
    """A request for approval of one deployment, for the environment's approver roles; it expires."""

    __tablename__ = "deploy_approvals"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    deployment_id: Mapped[str] = mapped_column(ForeignKey("deployments.id", ondelete="CASCADE"), unique=True)
    state: Mapped[str] = mapped_column(String(16), default=ApprovalState.pending.value, index=True)
    approver_roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    requested_by_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    decided_by_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    comment: Mapped[str] = mapped_column(Text, default="")
    expires_at: Mapped[datetime] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(nullable=True)


class ApprovalStateChange(Base):
    """One accepted state change of an approval request."""

    __tablename__ = "deploy_approval_state_changes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    approval_id: Mapped[str] = mapped_column(
        ForeignKey("deploy_approvals.id", ondelete="CASCADE"), index=True
    )
    from_state: Mapped[str] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
