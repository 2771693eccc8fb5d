"""GitOps configuration and history in the database: repositories, per-domain environment targets,
delivery drafts (the wizard's plan) and operations (one per commit request)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from timbel.core.db import Base, new_id, utcnow
from timbel.core.states import Machine


class GitOpsRepository(Base):
    """A GitOps remote (https with a token or ssh with a key); the secret is encrypted, never returned."""

    __tablename__ = "gitops_repositories"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    url: Mapped[str] = mapped_column(String(1000))
    branch: Mapped[str] = mapped_column(String(200), default="main")
    auth: Mapped[str] = mapped_column(String(8), default="none")  # none | token | ssh
    username: Mapped[str] = mapped_column(String(200), default="")
    secret: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(default=utcnow, onupdate=utcnow, nullable=True)


class GitOpsTarget(Base):
    """Which repository holds one environment of a domain (환경별 레포); absent → the default repository."""

    __tablename__ = "gitops_targets"
    __table_args__ = (UniqueConstraint("domain_id", "env"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    domain_id: Mapped[str] = mapped_column(ForeignKey("domains.id", ondelete="CASCADE"), index=True)
    env: Mapped[str] = mapped_column(String(8))
    repository_id: Mapped[str] = mapped_column(
        ForeignKey("gitops_repositories.id", ondelete="CASCADE"), index=True
    )


class DeliveryDraft(Base):
    """The wizard's delivery plan for a system (step 2), reviewed (step 3) and committed (step 4)."""

    __tablename__ = "delivery_drafts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    system_id: Mapped[str] = mapped_column(ForeignKey("systems.id", ondelete="CASCADE"), index=True)
    analysis_id: Mapped[str | None] = mapped_column(
        ForeignKey("analyses.id", ondelete="SET NULL"), nullable=True
    )
    plan: Mapped[dict[str, Any]] = mapped_column(JSON)
    secrets: Mapped[str | None] = mapped_column(
        Text, nullable=True
    )  # encrypted JSON {service: {NAME: value}}
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(default=utcnow, onupdate=utcnow, nullable=True)


class OperationState(StrEnum):
    """Where a GitOps operation is."""

    running = "running"
    succeeded = "succeeded"
    failed = "failed"


OPERATION_MACHINE: Machine[OperationState] = Machine(
    "gitops-operation",
    {
        OperationState.running: frozenset({OperationState.succeeded, OperationState.failed}),
        OperationState.succeeded: frozenset(),
        OperationState.failed: frozenset(),
    },
)


class GitOpsOperation(Base):
    """One request to change GitOps repositories: what, who, why, and the commits it made."""

    __tablename__ = "gitops_operations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    system_id: Mapped[str | None] = mapped_column(
        ForeignKey("systems.id", ondelete="CASCADE"), nullable=True, index=True
    )
    draft_id: Mapped[str | None] = mapped_column(
        ForeignKey("delivery_drafts.id", ondelete="SET NULL"), nullable=True
    )
    kind: Mapped[str] = mapped_column(String(32), default="deliver")
    state: Mapped[str] = mapped_column(String(16), default=OperationState.running.value)
    what: Mapped[str] = mapped_column(String(300), default="")
    why: Mapped[str] = mapped_column(Text, default="")
    commits: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    conflicts: Mapped[list[str]] = mapped_column(JSON, default=list)  # hand-edited files that stopped it
    error: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)


class GitOpsOperationChange(Base):
    """One accepted state change of a GitOps operation."""

    __tablename__ = "gitops_operation_changes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    operation_id: Mapped[str] = mapped_column(
        ForeignKey("gitops_operations.id", ondelete="CASCADE"), index=True
    )
    from_state: Mapped[str] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)
