"""Environment settings per domain: order, target (GitOps only, Argo CD, Kubernetes), approval gate,
health and verification timing, automatic rollback and freeze windows. Administrators change them.

Why the guards: a domain always keeps at least one environment, and an environment that already has
deployments is neither deleted nor renamed (its history and locks refer to it by name).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from timbel.audit import service as audit_service
from timbel.audit.service import AuditContext
from timbel.catalog.models import Domain
from timbel.core.errors import Conflict, NotFound, ValidationFailed
from timbel.deployments import service
from timbel.deployments.models import Deployment, Environment, TargetKind

APPROVER_ROLES = ("admin", "operations", "executive")
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
_PROBE = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
_PLACEHOLDERS = ("{domain}", "{system}", "{env}")
FIELDS = (
    "name", "target_kind", "argocd_integration_id", "application_pattern", "kubernetes_integration_id",
    "namespace_pattern", "requires_approval", "approver_roles", "approval_ttl_hours", "healthy_minutes",
    "health_timeout_seconds", "verify_window_seconds", "auto_rollback", "freeze_windows",
)  # fmt: skip


class FreezeWindow(BaseModel):
    """A period in which deployments to the environment are refused (emergencies aside)."""

    starts_at: datetime
    ends_at: datetime
    reason: str = Field(default="", max_length=500)

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @model_validator(mode="after")
    def _ordered(self) -> FreezeWindow:
        if self.ends_at <= self.starts_at:
            raise ValueError("a freeze window must end after it starts")
        return self

    def stored(self) -> dict[str, str]:
        """The stored form: UTC ISO strings."""
        return {
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "reason": self.reason,
        }


def check_pattern(value: str) -> str:
    """Only {domain}, {system} and {env} placeholders, around letters, digits and '-'."""
    probe = value.strip()
    for placeholder in _PLACEHOLDERS:
        probe = probe.replace(placeholder, "x")
    if not probe or len(value) > 200 or not _PROBE.match(probe):
        raise ValueError("use only {domain}, {system} and {env} with lower-case letters, digits and '-'")
    return value.strip()


class EnvironmentWrite(BaseModel):
    """The settings of one environment (PATCH: only the fields sent change)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(default="", max_length=32)
    target_kind: TargetKind = TargetKind.gitops
    argocd_integration_id: str | None = Field(default=None, max_length=36)
    application_pattern: str = "{domain}-{system}-{env}"
    kubernetes_integration_id: str | None = Field(default=None, max_length=36)
    namespace_pattern: str = "{domain}-{system}-{env}"
    requires_approval: bool = False
    approver_roles: list[str] = Field(default_factory=list, max_length=3)
    approval_ttl_hours: int = Field(default=72, ge=1, le=720)
    healthy_minutes: int = Field(default=0, ge=0, le=10_080)
    health_timeout_seconds: int = Field(default=600, ge=10, le=86_400)
    verify_window_seconds: int = Field(default=60, ge=0, le=86_400)
    auto_rollback: bool = True
    freeze_windows: list[FreezeWindow] = Field(default_factory=list, max_length=50)

    _patterns = field_validator("application_pattern", "namespace_pattern")(check_pattern)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("use a lower-case name of letters, digits and '-' starting with a letter")
        return value

    @field_validator("approver_roles")
    @classmethod
    def _roles(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(APPROVER_ROLES))
        if unknown:
            raise ValueError(f"approver roles must be among {', '.join(APPROVER_ROLES)}")
        return [r for r in APPROVER_ROLES if r in value]


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, errors=[{"loc": ["body", field], "msg": message, "type": "value_error"}])


def get_domain(session: Session, *, domain_id: str) -> Domain:
    """A domain by id (404)."""
    domain = session.get(Domain, domain_id)
    if domain is None:
        raise NotFound("No such domain.")
    return domain


def get_or_raise(session: Session, *, environment_id: str) -> Environment:
    """One environment by id (404)."""
    row = session.get(Environment, environment_id)
    if row is None:
        raise NotFound("No such environment.")
    return row


def _check_target(session: Session, row: Environment) -> None:
    """The chosen instance exists, is of the target's kind and is global or the domain's own."""
    from timbel.integrations.models import Integration

    if row.target_kind == TargetKind.gitops.value:
        return
    field = f"{row.target_kind}_integration_id"
    wanted = getattr(row, field)
    instance = session.get(Integration, wanted) if wanted else None
    label = "Argo CD" if row.target_kind == TargetKind.argocd.value else "Kubernetes"
    if instance is None or instance.kind != row.target_kind:
        raise _invalid(field, f"Choose an existing {label} integration for this target.")
    if instance.domain_id not in (None, row.domain_id):
        raise _invalid(field, f"The {label} integration belongs to another domain.")


def _deployments(session: Session, row: Environment) -> int:
    return (
        session.scalar(
            select(func.count(Deployment.id)).where(
                or_(
                    Deployment.environment_id == row.id,
                    (Deployment.domain_id == row.domain_id) & (Deployment.environment == row.name),
                )
            )
        )
        or 0
    )


def _apply(session: Session, row: Environment, data: EnvironmentWrite, fields: set[str]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for name in FIELDS:
        if name not in fields:
            continue
        value: Any = getattr(data, name)
        if name == "freeze_windows":
            value = [w.stored() for w in data.freeze_windows]
        elif name == "target_kind":
            value = data.target_kind.value
        if getattr(row, name) != value:
            changes[name] = value
            setattr(row, name, value)
    if row.requires_approval and not row.approver_roles:
        raise _invalid("approver_roles", "An environment that requires approval needs approver roles.")
    _check_target(session, row)
    return changes


def _taken(session: Session, *, domain_id: str, name: str, exclude: str | None = None) -> bool:
    query = select(Environment.id).where(Environment.domain_id == domain_id, Environment.name == name)
    if exclude is not None:
        query = query.where(Environment.id != exclude)
    return session.scalar(query) is not None


def create(session: Session, *, domain_id: str, data: EnvironmentWrite, ctx: AuditContext) -> Environment:
    """Add an environment at the end of the domain's order; audited."""
    domain = get_domain(session, domain_id=domain_id)
    if not data.name:
        raise _invalid("name", "An environment needs a name.")
    existing = service.environments_for(session, domain_id=domain.id)
    if _taken(session, domain_id=domain.id, name=data.name):
        raise Conflict(f"The domain already has an environment '{data.name}'.")
    row = Environment(domain_id=domain.id, position=max((e.position for e in existing), default=-1) + 1)
    changes = _apply(session, row, data, set(FIELDS))
    session.add(row)
    session.flush()
    audit_service.record(session, ctx=ctx, action="environment.create", target_type="environment",
                         target_id=row.id, summary=f"Environment {row.name} of {domain.code}",
                         changes=changes)  # fmt: skip
    return row


def update(session: Session, *, row: Environment, data: EnvironmentWrite, ctx: AuditContext) -> Environment:
    """Change the fields that were sent; a renamed environment must have no deployments; audited."""
    fields = set(data.model_fields_set)
    if "name" in fields and data.name != row.name:
        if not data.name:
            raise _invalid("name", "An environment needs a name.")
        if _taken(session, domain_id=row.domain_id, name=data.name, exclude=row.id):
            raise Conflict(f"The domain already has an environment '{data.name}'.")
        if _deployments(session, row):
            raise Conflict("An environment with deployments cannot be renamed.")
    changes = _apply(session, row, data, fields)
    session.flush()
    if changes:
        audit_service.record(session, ctx=ctx, action="environment.update", target_type="environment",
                             target_id=row.id, summary=f"Environment {row.name} changed",
                             changes=changes)  # fmt: skip
    return row


def delete(session: Session, *, row: Environment, ctx: AuditContext) -> None:
    """Remove an environment without deployments, never the domain's last one; audited."""
    others = [e for e in service.environments_for(session, domain_id=row.domain_id) if e.id != row.id]
    if not others:
        raise Conflict("A domain needs at least one environment.")
    if _deployments(session, row):
        raise Conflict("An environment with deployments cannot be deleted.")
    session.delete(row)
    for position, other in enumerate(others):
        other.position = position
    session.flush()
    audit_service.record(session, ctx=ctx, action="environment.delete", target_type="environment",
                         target_id=row.id, summary=f"Environment {row.name} deleted")  # fmt: skip


def reorder(session: Session, *, domain_id: str, names: list[str], ctx: AuditContext) -> list[Environment]:
    """Set the promotion order; ``names`` must list each of the domain's environments once; audited."""
    rows = service.environments_for(session, domain_id=get_domain(session, domain_id=domain_id).id)
    by_name = {r.name: r for r in rows}
    if sorted(names) != sorted(by_name):
        raise _invalid("names", "List every environment of the domain exactly once.")
    for position, name in enumerate(names):
        by_name[name].position = position
    session.flush()
    audit_service.record(session, ctx=ctx, action="environment.reorder", target_type="domain",
                         target_id=domain_id, summary="Environment order: " + " → ".join(names),
                         changes={"order": names})  # fmt: skip
    return service.environments_for(session, domain_id=domain_id)


def as_dict(row: Environment) -> dict[str, Any]:
    """The API form of an environment."""
    return {"id": row.id, "domain_id": row.domain_id, "position": row.position,
            **{name: getattr(row, name) for name in FIELDS}}  # fmt: skip
