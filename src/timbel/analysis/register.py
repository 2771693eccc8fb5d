"""Register an analysed repository as a catalog System, or refresh the system it belongs to."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from pydantic import ValidationError as PydanticValidationError
from sqlalchemy.orm import Session

from timbel.analysis.api_schemas import RegisterRequest
from timbel.analysis.knowledge_sync import SyncCounts, apply_system_facts, sync_knowledge
from timbel.analysis.models import Analysis, AnalysisState
from timbel.analysis.schema import AnalysisReport
from timbel.audit import service as audit_service
from timbel.audit.service import AuditContext
from timbel.auth.permissions import Permission
from timbel.auth.principal import Principal
from timbel.catalog import system_service
from timbel.catalog.models import System
from timbel.catalog.system_schemas import LastCommit, Source, SystemCreate, TechStack, check_branch
from timbel.core.errors import Conflict, PermissionDenied, ValidationFailed


def _required(field: str) -> ValidationFailed:
    return ValidationFailed(
        f"{field} is required to register a new system.",
        errors=[{"loc": ["body", field], "type": "missing", "msg": "required"}],
    )


def repo_name(analysis: Analysis) -> str:
    """Return the repository's name from its URL or path (``team/app.git`` → ``app``)."""
    target = analysis.url or analysis.path or ""
    path = urlsplit(target).path if "://" in target else target.rsplit(":", 1)[-1]
    return path.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git") or "system"


def suggested_slug(name: str) -> str:
    """Return a slug candidate for a system name (ASCII letters, digits and dashes)."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:100]
    return slug if len(slug) >= 2 else f"system-{slug}".strip("-")


def _branch(report: AnalysisReport) -> str:
    try:
        return check_branch(report.source.ref or "main")
    except ValueError:
        return "main"


def _create_system(
    session: Session, *, principal: Principal, analysis: Analysis, report: AnalysisReport,
    data: RegisterRequest, ctx: AuditContext,
) -> System:  # fmt: skip
    if not data.domain_id:
        raise _required("domain_id")
    name = data.name or repo_name(analysis)
    readme = next((d for d in report.knowledge.documents if d.kind == "readme"), None)
    try:
        create = _system_create(analysis, report, data, name, readme.summary if readme else "")
    except PydanticValidationError as exc:
        raise ValidationFailed(
            "The repository cannot be registered as given.",
            errors=[
                {"loc": ["body", *map(str, e["loc"])], "type": e["type"], "msg": e["msg"]}
                for e in exc.errors()
            ],
        ) from exc
    return system_service.create(session, principal=principal, data=create, ctx=ctx)


def _system_create(
    analysis: Analysis, report: AnalysisReport, data: RegisterRequest, name: str, summary: str
) -> SystemCreate:
    assert data.domain_id is not None
    return SystemCreate(
        domain_id=data.domain_id,
        name=name,
        slug=data.slug or suggested_slug(name),
        description=data.description if data.description is not None else summary,
        repo_url=analysis.url or analysis.path or "",
        default_branch=_branch(report),
        last_commit=LastCommit(sha=report.source.commit) if report.source.commit else None,
        stage=data.stage,
        tech_stack=TechStack(),
        project_ids=data.project_ids,
        source=Source.auto,
    )


def register(
    session: Session, *, principal: Principal, analysis: Analysis, data: RegisterRequest, ctx: AuditContext
) -> tuple[System, SyncCounts]:
    """Create the system (or take the analysis's system) and sync the report's knowledge into it."""
    if not principal.has(Permission.catalog_write):
        raise PermissionDenied(f"This needs the permission {Permission.catalog_write.value}.")
    if analysis.state != AnalysisState.succeeded.value or analysis.report is None:
        raise Conflict("The analysis has not succeeded; only a finished report can be registered.")
    report = AnalysisReport.model_validate(analysis.report)
    if analysis.system_id is not None:
        system = system_service.get_visible_or_raise(
            session, principal=principal, system_id=analysis.system_id
        )
    else:
        system = _create_system(
            session, principal=principal, analysis=analysis, report=report, data=data, ctx=ctx
        )
        analysis.system_id, analysis.domain_id = system.id, system.domain_id
    apply_system_facts(system, report, analysis_id=analysis.id)
    counts = sync_knowledge(
        session, system=system, report=report, texts=analysis.texts or {}, author_id=principal.user_id
    )
    audit_service.record(
        session,
        ctx=ctx,
        action="analysis.register",
        target_type="system",
        target_id=system.id,
        summary=f"registered analysis of {report.source.commit or 'the working tree'} into {system.slug}",
        changes={"analysis_id": analysis.id, **counts.as_dict()},
    )
    return system, counts
