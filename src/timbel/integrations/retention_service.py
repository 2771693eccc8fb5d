"""Image retention as a capability of registry and Nexus instances: plan (dry run), or apply, and audit.

Why three steps (``load_target`` → ``execute`` → ``record_outcome``): ``execute`` talks to the registry and
may be slow, so the scheduled job reads the instance in one short transaction, runs without a session and
writes the result in another; the API composes the three in its request (``run_retention``). Planning and
deleting are ``registry.retention.plan_retention``/``apply_retention``: a digest shared with a kept or
protected tag is never deleted. Protected ("deployed") tags come from the caller plus every registered
``ProtectedSource``; the GitOps one (registered with the built-in adapters) reads every environment's
values, and a repository it cannot read fails the run rather than risk deleting a running image.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from timbel.audit import service as audit_service
from timbel.audit.service import AuditContext
from timbel.core.crypto import SecretDecryptError
from timbel.core.errors import IntegrationError, ValidationFailed
from timbel.core.settings import Settings
from timbel.integrations import service
from timbel.integrations.base import ImageTag, IntegrationKind, Registry
from timbel.integrations.models import Integration
from timbel.integrations.registry.retention import RetentionPlan, apply_retention, plan_retention
from timbel.integrations.registry_of_adapters import InstanceConfig, build_adapter

logger = logging.getLogger(__name__)
RETENTION_KINDS = frozenset({IntegrationKind.registry, IntegrationKind.nexus})
AUDIT_ACTION = "integration.retention"
NO_KEEP_LAST = "integrations.retention_keep_last_missing"

ProtectedSource = Callable[[Session, Settings, Integration], set[str]]
_PROTECTED_SOURCES: list[ProtectedSource] = []


def register_protected_source(source: ProtectedSource) -> None:
    """Add a source of deployed tags/digests every retention run of an instance keeps (e.g. GitOps values)."""
    if source not in _PROTECTED_SOURCES:
        _PROTECTED_SOURCES.append(source)


def deployed_references(session: Session, *, settings: Settings, row: Integration) -> set[str]:
    """Tags and digests the registered sources say are deployed from this instance."""
    found: set[str] = set()
    for source in _PROTECTED_SOURCES:
        found |= source(session, settings, row)
    return found


class TagDecision(BaseModel):
    """One tag of a plan: its digest and, when kept, why."""

    tag: str
    digest: str | None = None
    reason: str = ""


class RepositoryRetention(BaseModel):
    """What retention kept and deleted (or would delete) in one repository; ``error`` when it failed."""

    repository: str
    keep: list[TagDecision] = Field(default_factory=list)
    delete: list[TagDecision] = Field(default_factory=list)
    deleted_digests: list[str] = Field(default_factory=list)
    error: str | None = None


class RetentionReport(BaseModel):
    """One retention run of one instance."""

    integration_id: str
    integration_name: str
    kind: IntegrationKind
    dry_run: bool
    keep_last: int
    repositories: list[RepositoryRetention] = Field(default_factory=list)
    error: str | None = None

    def counts(self) -> dict[str, Any]:
        """Totals for audit entries and job results (no tag names)."""
        return {
            "dry_run": self.dry_run, "keep_last": self.keep_last, "repositories": len(self.repositories),
            "kept": sum(len(r.keep) for r in self.repositories),
            "to_delete": sum(len(r.delete) for r in self.repositories),
            "deleted": sum(len(r.deleted_digests) for r in self.repositories),
            "failed": sum(1 for r in self.repositories if r.error) + (1 if self.error else 0),
        }  # fmt: skip

    @property
    def ok(self) -> bool:
        """True when neither the instance nor any repository failed."""
        return self.error is None and not any(r.error for r in self.repositories)


@dataclass(frozen=True)
class RetentionTarget:
    """An instance ready for ``execute``: its adapter config (secrets decrypted) and retention policy."""

    config: InstanceConfig
    keep_last: int | None
    protected: frozenset[str] = field(default_factory=frozenset)
    schedule_enabled: bool = False
    apply: bool = False


def load_target(session: Session, *, settings: Settings, row: Integration) -> RetentionTarget:
    """The instance's config and policy; 422 for kinds without images, IntegrationError for lost secrets."""
    kind = IntegrationKind(row.kind)
    if kind not in RETENTION_KINDS:
        raise ValidationFailed(f"Retention applies to registry and Nexus instances, not {kind.value}.")
    try:
        config = service.instance_config(row, settings=settings)
    except SecretDecryptError:
        raise IntegrationError(
            f"{row.name}: stored secrets cannot be decrypted with the current key "
            "(run `timbel secrets rotate-key`)"
        ) from None
    options = dict(row.options or {})
    keep_last = options.get("retention_keep_last")
    return RetentionTarget(
        config=config, keep_last=keep_last if isinstance(keep_last, int) else None,
        protected=frozenset(deployed_references(session, settings=settings, row=row)),
        schedule_enabled=options.get("retention_schedule_enabled") is True,
        apply=options.get("retention_apply") is True,
    )  # fmt: skip


def execute(
    target: RetentionTarget,
    *,
    keep_last: int | None = None,
    repository: str | None = None,
    dry_run: bool = True,
    protected: Iterable[str] = (),
    adapter_factory: Callable[[InstanceConfig], Any] = build_adapter,
) -> RetentionReport:
    """Plan every repository (or one); delete the planned digests unless ``dry_run``. No database access."""
    keep = target.keep_last if keep_last is None else keep_last
    config = target.config
    if keep is None or keep < 0:
        raise ValidationFailed(
            f"{config.name}: set retention_keep_last on the instance or send keep_last.",
            errors=[{"loc": ["body", "keep_last"], "type": NO_KEEP_LAST, "msg": "required"}],
        )
    report = RetentionReport(
        integration_id=config.id,
        integration_name=config.name,
        kind=config.kind,
        dry_run=dry_run,
        keep_last=keep,
    )
    keep_safe = set(target.protected) | set(protected)
    adapter = adapter_factory(config)
    try:
        names = [repository] if repository else adapter.repositories()
        for name in names:
            report.repositories.append(_one(adapter, name, keep=keep, protected=keep_safe, dry_run=dry_run))
    except IntegrationError as exc:
        report.error = service.scrub(exc.detail, config.secrets.values())
    finally:
        close = getattr(adapter, "close", None)
        if callable(close):
            close()
    for item in report.repositories:
        if item.error:
            item.error = service.scrub(item.error, config.secrets.values())
    return report


def _one(
    registry: Registry, name: str, *, keep: int, protected: set[str], dry_run: bool
) -> RepositoryRetention:
    """Plan (and apply) one repository; an integration failure is reported, never raised."""
    try:
        plan = plan_retention(registry, repository=name, keep_last=keep, protected=protected)
    except IntegrationError as exc:
        return RepositoryRetention(repository=name, error=exc.detail)
    result = _from_plan(plan)
    if not dry_run and plan.digests_to_delete:
        try:
            result.deleted_digests = apply_retention(registry, plan=plan)
        except IntegrationError as exc:
            result.error = f"deleting stopped: {exc.detail}"
    return result


def _from_plan(plan: RetentionPlan) -> RepositoryRetention:
    def decision(tag: ImageTag) -> TagDecision:
        return TagDecision(tag=tag.tag, digest=tag.digest, reason=plan.reasons.get(tag.tag, ""))

    return RepositoryRetention(
        repository=plan.repository,
        keep=[decision(t) for t in plan.keep],
        delete=[decision(t) for t in plan.delete],
    )


def record_outcome(
    session: Session, *, report: RetentionReport, ctx: AuditContext, scheduled: bool = False
) -> None:
    """Audit a run (counts only); a failed run also becomes the instance's last error."""
    counts = report.counts()
    verb = "retention dry run" if report.dry_run else "retention"
    summary = (
        f"{verb} of {report.kind.value} integration {report.integration_name}: "
        f"{counts['to_delete']} to delete, {counts['deleted']} deleted "
        f"in {counts['repositories']} repositories"
    )
    audit_service.record(
        session, ctx=ctx, action=AUDIT_ACTION, target_type="integration", target_id=report.integration_id,
        summary=summary, changes={**counts, "scheduled": scheduled},
        outcome="success" if report.ok else "failure",
    )  # fmt: skip
    if not report.ok:
        row = session.get(Integration, report.integration_id)
        if row is not None:
            first = report.error or next(r.error for r in report.repositories if r.error)
            row.last_error = f"retention: {first}"[: service.LAST_ERROR_LIMIT]
            session.flush()


def run_retention(
    session: Session,
    *,
    settings: Settings,
    integration_id: str,
    ctx: AuditContext,
    repository: str | None = None,
    keep_last: int | None = None,
    dry_run: bool = True,
    protected: Iterable[str] = (),
) -> RetentionReport:
    """Plan (``dry_run``, the default) or apply retention on one instance now, and audit it."""
    row = service.get_or_raise(session, integration_id=integration_id)
    target = load_target(session, settings=settings, row=row)
    report = execute(target, keep_last=keep_last, repository=repository, dry_run=dry_run, protected=protected)
    record_outcome(session, report=report, ctx=ctx)
    return report
