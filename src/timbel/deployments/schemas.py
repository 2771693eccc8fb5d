"""Deployment action API shapes: deploy/promote/rollback/request bodies, decisions, reads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

ENV = Field(min_length=1, max_length=32)
REASON = Field(default="", max_length=2000)


class DeployCreate(BaseModel):
    """Deploy a release (id or version) to an environment."""

    model_config = ConfigDict(extra="forbid")

    env: str = ENV
    release: str = Field(min_length=1, max_length=100)
    reason: str = REASON
    emergency: bool = False


class PromotionCreate(BaseModel):
    """Promote the previous environment's release into ``to``."""

    model_config = ConfigDict(extra="forbid")

    to: str = ENV
    reason: str = REASON
    emergency: bool = False


class RollbackCreate(BaseModel):
    """Restore an earlier good release of an environment (default: the last good other one)."""

    model_config = ConfigDict(extra="forbid")

    env: str = ENV
    to_release: str | None = Field(default=None, max_length=100)
    reason: str = REASON
    emergency: bool = False


class RequestCreate(BaseModel):
    """배포 요청: a deployment that always waits for an approver."""

    model_config = ConfigDict(extra="forbid")

    env: str = ENV
    release: str = Field(min_length=1, max_length=100)
    reason: str = Field(min_length=1, max_length=2000)


class Decision(BaseModel):
    """An approver's comment (reject needs one) or a cancel reason."""

    model_config = ConfigDict(extra="forbid")

    comment: str = REASON
    reason: str = REASON

    @property
    def text(self) -> str:
        """The comment, or the reason when only that was sent."""
        return (self.comment or self.reason).strip()


class ChecklistItemRead(BaseModel):
    """One checklist line."""

    key: str
    status: str
    evidence: str
    blocking: bool


class ReleaseBrief(BaseModel):
    """The release a checklist or an approval is about."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    version: str
    source_commit: str
    images: list[dict[str, Any]]


class ChecklistRead(BaseModel):
    """The promotion checklist into ``to`` and whether it would refuse now."""

    to: str
    from_env: str | None
    release: ReleaseBrief | None
    requires_approval: bool
    refused: bool
    items: list[ChecklistItemRead]


class StateChangeRead(BaseModel):
    """One state change of a deployment or an approval."""

    model_config = ConfigDict(from_attributes=True)

    from_state: str
    to_state: str
    reason: str
    actor_id: str | None
    at: datetime


class ApprovalRead(BaseModel):
    """An approval request."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    deployment_id: str
    state: str
    approver_roles: list[str]
    requested_by_id: str | None
    decided_by_id: str | None
    comment: str
    expires_at: datetime
    created_at: datetime
    decided_at: datetime | None


class DeploymentRead(BaseModel):
    """A deployment as lists show it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    system_id: str
    domain_id: str
    environment: str
    release_id: str
    previous_release_id: str | None
    kind: str
    state: str
    target_kind: str
    reason: str
    outcome: str
    emergency: bool
    verified: bool
    health: str
    rollback_of_id: str | None
    requested_by_id: str | None
    requested_by: str
    approved_by_id: str | None
    gitops_sha: str | None
    created_at: datetime
    approved_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None


class DeploymentDetail(DeploymentRead):
    """A deployment with its release, checklist, state history and approval."""

    release: ReleaseBrief | None = None
    checklist: list[dict[str, Any]] = []
    history: list[StateChangeRead] = []
    approval: ApprovalRead | None = None
    approval_history: list[StateChangeRead] = []


class PendingApproval(BaseModel):
    """An approval waiting for the caller, with what it is about."""

    approval: ApprovalRead
    deployment: DeploymentRead
    system_slug: str
    release: ReleaseBrief
