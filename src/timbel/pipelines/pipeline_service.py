"""Pipelines: one per system, built from its pipeline template plus the delivery stages, edited with versions.

Why stages are copied, not referenced: a pipeline is the system's own definition once created; a later
template edit must not change what the next run executes without a visible, versioned change here.
Services flush, never commit.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from timbel.audit import service as audit_service
from timbel.audit.service import AuditContext
from timbel.catalog.models import System
from timbel.core.errors import Conflict, NotFound, ValidationFailed
from timbel.pipelines import template_service
from timbel.pipelines.engine_base import StageKind
from timbel.pipelines.engines import engine_names
from timbel.pipelines.models import PipelineTemplate
from timbel.pipelines.run_models import Pipeline, PipelineVersion
from timbel.pipelines.run_schemas import PipelineFields, StageDef

EDITABLE = (
    "engine",
    "jenkins_integration_id",
    "stages",
    "push_enabled",
    "branch_filters",
    "schedule",
    "supersede_queued",
)
DELIVERY_STAGES = (
    ("image", StageKind.image),
    ("push", StageKind.push),
    ("gitops-update", StageKind.gitops_update),
)
_RESERVED = frozenset({"checkout", "image", "push", "gitops-update"})
_LANGUAGE_STACKS = {
    "python": "python",
    "go": "go",
    "c#": "dotnet",
    "php": "php",
    "ruby": "ruby",
    "rust": "rust",
    "javascript": "node",
    "typescript": "node",
    "java": "java-maven",
    "kotlin": "java-gradle",
}


def _invalid(field: str, message: str, kind: str = "pipeline.invalid") -> ValidationFailed:
    return ValidationFailed(message, errors=[{"loc": ["body", field], "type": kind, "msg": message}])


def snapshot(pipeline: Pipeline) -> dict[str, Any]:
    """The editable state of a pipeline as stored in a version."""
    return {name: getattr(pipeline, name) for name in EDITABLE} | {"template_key": pipeline.template_key}


def stages_from_template(template: PipelineTemplate) -> list[dict[str, Any]]:
    """Checkout, one stage per template stage (test or build), then the delivery stages (no command)."""
    spec = template_service.spec_of(template)
    stages: list[dict[str, Any]] = [
        StageDef(name="checkout", kind=StageKind.checkout).model_dump(mode="json")
    ]
    for stage in spec.stages:
        kind = StageKind.test if re.search(r"test|lint|check", stage.name, re.I) else StageKind.build
        name = f"{stage.name}-1" if stage.name in _RESERVED else stage.name
        command = "\n".join(stage.commands)
        stages.append(StageDef(name=name, kind=kind, command=command).model_dump(mode="json"))
    for name, kind in DELIVERY_STAGES:
        stages.append(StageDef(name=name, kind=kind).model_dump(mode="json"))
    return stages


def _system_stack(session: Session, system: System) -> tuple[str, str | None]:
    """Guess the system's stack and framework: its delivery draft, else its languages."""
    from timbel.gitops.delivery import latest_draft

    draft = latest_draft(session, system=system)
    services = (draft.plan or {}).get("services") if draft is not None else None
    if services:
        return str(services[0].get("stack")), services[0].get("framework")
    framework = system.frameworks[0] if system.frameworks else None
    if framework == "Next.js":
        return "nextjs", framework
    for language in system.languages or []:
        stack = _LANGUAGE_STACKS.get(language.lower())
        if stack:
            return stack, framework
    raise _invalid(
        "template_key", "Choose a pipeline template: the system's stack is unknown.", "pipeline.no_template"
    )


def _check_engine(session: Session, name: str, jenkins_integration_id: str | None) -> None:
    from timbel.integrations.base import IntegrationKind
    from timbel.integrations.models import Integration

    if name not in engine_names():
        raise _invalid("engine", f"Unknown engine {name!r}.", "pipeline.engine")
    if jenkins_integration_id is None:
        return
    if name != "jenkins":
        raise _invalid("jenkins_integration_id", "A Jenkins instance is only for the jenkins engine.")
    row = session.get(Integration, jenkins_integration_id)
    if row is None or row.kind != IntegrationKind.jenkins.value:
        raise _invalid("jenkins_integration_id", "No such Jenkins instance.", "pipeline.jenkins")


def get_for_system(session: Session, *, system_id: str) -> Pipeline | None:
    """The system's pipeline, if it has one."""
    return session.scalar(select(Pipeline).where(Pipeline.system_id == system_id))


def get_or_raise(session: Session, *, pipeline_id: str) -> Pipeline:
    """Return a pipeline or raise NotFound."""
    pipeline = session.get(Pipeline, pipeline_id)
    if pipeline is None:
        raise NotFound("No such pipeline.")
    return pipeline


def _save_version(session: Session, *, pipeline: Pipeline, ctx: AuditContext) -> None:
    session.add(
        PipelineVersion(
            pipeline_id=pipeline.id,
            version=pipeline.version,
            snapshot=snapshot(pipeline),
            author_id=ctx.actor_id,
        )
    )


def create_for_system(
    session: Session,
    *,
    system: System,
    ctx: AuditContext,
    template_key: str | None = None,
    engine: str = "local",
    jenkins_integration_id: str | None = None,
) -> Pipeline:
    """Create the system's pipeline (version 1) from a template; 409 when it already has one."""
    if get_for_system(session, system_id=system.id) is not None:
        raise Conflict("The system already has a pipeline.")
    _check_engine(session, engine, jenkins_integration_id)
    if template_key:
        template = template_service.get_by_key(session, key=template_key)
        if template is None:
            raise _invalid("template_key", f"No pipeline template {template_key!r}.", "pipeline.no_template")
    else:
        stack, framework = _system_stack(session, system)
        template = template_service.choose_template(session, stack=stack, framework=framework)
    pipeline = Pipeline(
        system_id=system.id,
        template_key=template.key,
        engine=engine,
        jenkins_integration_id=jenkins_integration_id,
        stages=stages_from_template(template),
        version=1,
        push_enabled=True,
        branch_filters=[system.default_branch or "main"],
        schedule=None,
        supersede_queued=True,
    )
    session.add(pipeline)
    session.flush()
    _save_version(session, pipeline=pipeline, ctx=ctx)
    audit_service.record(
        session,
        ctx=ctx,
        action="pipeline.create",
        target_type="pipeline",
        target_id=pipeline.id,
        summary=f"Created the pipeline of {system.slug} from template {template.key}",
        changes={"system_id": system.id, "template_key": template.key, "engine": engine},
    )
    session.flush()
    return pipeline


def _values(data: PipelineFields) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in data.model_fields_set:
        value = getattr(data, name)
        if name == "stages":
            value = [s.model_dump(mode="json") for s in (value or [])]
        elif name == "branch_filters":
            value = list(value or [])
        elif value is None and name not in ("jenkins_integration_id", "schedule"):
            continue
        values[name] = value
    return values


def update(
    session: Session, *, pipeline: Pipeline, data: PipelineFields | dict[str, Any], ctx: AuditContext
) -> Pipeline:
    """Apply a change; a real change bumps the version, saves a snapshot and is audited."""
    if isinstance(data, dict):
        try:
            data = PipelineFields.model_validate(data)
        except ValidationError as exc:
            errors = [{"loc": ["body", *e["loc"]], "type": e["type"], "msg": e["msg"]} for e in exc.errors()]
            raise ValidationFailed("The pipeline is not valid.", errors=errors) from exc
    values = _values(data)
    if "stages" in values and not values["stages"]:
        raise _invalid("stages", "A pipeline needs at least one stage.")
    engine = values.get("engine", pipeline.engine)
    integration = values.get("jenkins_integration_id", pipeline.jenkins_integration_id)
    if engine != "jenkins" and "engine" in values and "jenkins_integration_id" not in values:
        integration = values["jenkins_integration_id"] = None
    _check_engine(session, engine, integration)
    changed = sorted(name for name, value in values.items() if getattr(pipeline, name) != value)
    if not changed:
        return pipeline
    for name in changed:
        setattr(pipeline, name, values[name])
    pipeline.version += 1
    session.flush()
    _save_version(session, pipeline=pipeline, ctx=ctx)
    audit_service.record(
        session,
        ctx=ctx,
        action="pipeline.update",
        target_type="pipeline",
        target_id=pipeline.id,
        summary=f"Changed pipeline {pipeline.id} (version {pipeline.version})",
        changes={"fields": changed, "version": pipeline.version},
    )
    session.flush()
    return pipeline


def versions(session: Session, *, pipeline: Pipeline) -> list[PipelineVersion]:
    """The pipeline's saved versions, newest first."""
    stmt = select(PipelineVersion).where(PipelineVersion.pipeline_id == pipeline.id)
    return list(session.scalars(stmt.order_by(PipelineVersion.version.desc())))
