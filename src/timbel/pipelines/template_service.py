"""Pipeline templates: list, read, create, change (a new version each time), count uses, choose one per stack.

Editing is for administrators (checked on the routes); every real change bumps ``version``, stores a
snapshot in ``pipeline_template_versions`` and is audited. Services flush, never commit.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from timbel.audit import service as audit_service
from timbel.audit.service import AuditContext
from timbel.core.errors import Conflict, NotFound, ValidationFailed
from timbel.pipelines.models import PipelineTemplate, PipelineTemplateVersion
from timbel.pipelines.template_schemas import PipelineTemplateCreate, PipelineTemplateUpdate
from timbel.pipelines.template_seeds import snapshot
from timbel.scaffold.jenkinsfile import StageSpec, TemplateSpec
from timbel.scaffold.jenkinsfile_check import find_secrets
from timbel.scaffold.plan import DeliveryPlan


def _norm(framework: str | None) -> str:
    return re.sub(r"[^a-z0-9]+", "", (framework or "").lower())


def _stages(stages: list[StageSpec]) -> list[dict[str, Any]]:
    """Store stages as plain JSON, refusing commands that write a secret literally."""
    data = [stage.model_dump() for stage in stages]
    problems = find_secrets("\n".join(c for stage in stages for c in stage.commands))
    if problems:
        raise ValidationFailed(
            "A command writes a secret literally; use Jenkins credentials instead.",
            errors=[{"loc": ["body", "stages"], "type": "pipeline_template.secret", "msg": problems[0]}],
        )
    return data


def list_templates(session: Session, *, stack: str | None = None) -> list[PipelineTemplate]:
    """Return every template (optionally one stack's), ordered by key."""
    stmt = select(PipelineTemplate).order_by(PipelineTemplate.key)
    if stack:
        stmt = stmt.where(PipelineTemplate.stack == stack)
    return list(session.scalars(stmt))


def get(session: Session, *, template_id: str) -> PipelineTemplate:
    """Return a template by id or raise NotFound."""
    template = session.get(PipelineTemplate, template_id)
    if template is None:
        raise NotFound("No such pipeline template.")
    return template


def get_by_key(session: Session, *, key: str) -> PipelineTemplate | None:
    """Return the template with a key, if any."""
    return session.scalars(select(PipelineTemplate).where(PipelineTemplate.key == key)).first()


def versions(session: Session, *, template: PipelineTemplate) -> list[PipelineTemplateVersion]:
    """Return a template's saved versions, newest first."""
    stmt = (
        select(PipelineTemplateVersion)
        .where(PipelineTemplateVersion.template_id == template.id)
        .order_by(PipelineTemplateVersion.version.desc())
    )
    return list(session.scalars(stmt))


def _save_version(session: Session, *, template: PipelineTemplate, ctx: AuditContext) -> None:
    session.add(
        PipelineTemplateVersion(
            template_id=template.id,
            version=template.version,
            snapshot=snapshot(template),
            author_id=ctx.actor_id,
        )
    )


def create(session: Session, *, data: PipelineTemplateCreate, ctx: AuditContext) -> PipelineTemplate:
    """Create a template (version 1) with a unique key."""
    if get_by_key(session, key=data.key) is not None:
        raise Conflict(
            "A pipeline template with that key already exists.",
            errors=[{"loc": ["body", "key"], "type": "pipeline_template.key_taken", "msg": "taken"}],
        )
    template = PipelineTemplate(
        key=data.key,
        name=data.name,
        stack=data.stack,
        framework=data.framework.strip(),
        description=data.description,
        stages=_stages(data.stages),
        version=1,
        usage_count=0,
        is_seed=False,
        updated_by=ctx.actor_id,
    )
    session.add(template)
    session.flush()
    _save_version(session, template=template, ctx=ctx)
    audit_service.record(
        session,
        ctx=ctx,
        action="pipeline_template.create",
        target_type="pipeline_template",
        target_id=template.id,
        summary=f"Created pipeline template {template.key}",
        changes={"key": template.key, "stack": template.stack},
    )
    session.flush()
    return template


def update(
    session: Session, *, template: PipelineTemplate, data: PipelineTemplateUpdate, ctx: AuditContext
) -> PipelineTemplate:
    """Apply a change; a real change bumps the version, saves a snapshot and is audited."""
    values: dict[str, Any] = {}
    for name in ("name", "stack", "framework", "description"):
        value = getattr(data, name)
        if value is not None:
            values[name] = value.strip() if name == "framework" else value
    if data.stages is not None:
        values["stages"] = _stages(data.stages)
    changed = sorted(name for name, value in values.items() if getattr(template, name) != value)
    if not changed:
        return template
    for name in changed:
        setattr(template, name, values[name])
    template.version += 1
    template.updated_by = ctx.actor_id
    session.flush()
    _save_version(session, template=template, ctx=ctx)
    audit_service.record(
        session,
        ctx=ctx,
        action="pipeline_template.update",
        target_type="pipeline_template",
        target_id=template.id,
        summary=f"Changed pipeline template {template.key} (version {template.version})",
        changes={"fields": changed, "version": template.version},
    )
    session.flush()
    return template


def record_use(session: Session, *, key: str) -> None:
    """Count one use of a template (a single-row UPDATE, safe under concurrency)."""
    stmt = (
        sql_update(PipelineTemplate)
        .where(PipelineTemplate.key == key)
        .values(usage_count=PipelineTemplate.usage_count + 1)
        .execution_options(synchronize_session=False)
    )
    if not session.execute(stmt).rowcount:  # type: ignore[attr-defined]
        raise NotFound(f"No pipeline template {key!r}.")


def choose_template(session: Session, *, stack: str, framework: str | None) -> PipelineTemplate:
    """Pick the template for a service: same stack and framework, else the stack's generic one, else any."""
    candidates = list_templates(session, stack=stack)
    if not candidates:
        raise NotFound(f"No pipeline template for the stack {stack!r}.")
    wanted = _norm(framework)
    for rank in (
        lambda t: wanted != "" and _norm(t.framework) == wanted,
        lambda t: _norm(t.framework) == "",
        lambda t: t.is_seed,
    ):
        match = next((t for t in candidates if rank(t)), None)
        if match is not None:
            return match
    return candidates[0]


def spec_of(template: PipelineTemplate) -> TemplateSpec:
    """Return the generator's view of a template (no database attached)."""
    return TemplateSpec(key=template.key, stages=[StageSpec.model_validate(s) for s in template.stages])


def specs_for_plan(session: Session, *, plan: DeliveryPlan) -> dict[str, TemplateSpec]:
    """Choose each service's template for ``generate_jenkinsfile`` (counting a use is the caller's call)."""
    return {
        service.name: spec_of(choose_template(session, stack=service.stack, framework=service.framework))
        for service in plan.services
    }
