"""A system's delivery: the default plan from its latest analysis, drafts, previews and the commit.

Why drafts: the wizard's configure step saves the operator's plan; review and commit read that same plan,
so what was reviewed is exactly what is committed. Secret environment values live only in the draft,
encrypted, and are never part of the plan, a generated file, or any response.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from timbel.analysis import service as analysis_service
from timbel.analysis.schema import AnalysisReport
from timbel.audit import service as audit_service
from timbel.audit.service import AuditContext
from timbel.auth.principal import Principal
from timbel.catalog.models import Domain, System
from timbel.core.errors import Conflict, NotFound, ValidationFailed
from timbel.core.settings import Settings
from timbel.gitops import service as gitops
from timbel.gitops.models import DeliveryDraft, GitOpsOperation, GitOpsRepository, OperationState
from timbel.pipelines import template_service
from timbel.scaffold.generate import Bundle, generate
from timbel.scaffold.jenkinsfile import TemplateSpec
from timbel.scaffold.plan import DeliveryPlan, to_label
from timbel.scaffold.plan_from_report import NoDeployableService, plan_from_report
from timbel.scaffold.seed_templates import seed_specs_for_plan

SecretValues = dict[str, dict[str, str]]


def domain_of(session: Session, system: System) -> Domain:
    """Return a system's domain."""
    domain = session.get(Domain, system.domain_id)
    assert domain is not None
    return domain


def default_plan(session: Session, *, settings: Settings, system: System) -> tuple[DeliveryPlan, str]:
    """Return the plan Timbel proposes from the system's newest report, and that analysis's id."""
    analysis = analysis_service.latest_report(session, system_id=system.id)
    if analysis is None or analysis.report is None:
        raise Conflict("Analyse the system's repository first: the delivery plan starts from its report.")
    domain = domain_of(session, system)
    repository = gitops.repository_for(session, settings=settings, domain_id=domain.id, env="dev")
    try:
        plan = plan_from_report(
            AnalysisReport.model_validate(analysis.report),
            domain=domain.code,
            system=system.slug,
            registry=settings.gitops.registry,
            gitops_repo_url=repository.url,
        )
    except NoDeployableService as exc:
        raise Conflict(str(exc)) from exc
    return plan, analysis.id


def templates_for(session: Session, *, plan: DeliveryPlan) -> dict[str, TemplateSpec]:
    """Each service's pipeline template: the stored ones, else the shipped seed for its stack."""
    try:
        return template_service.specs_for_plan(session, plan=plan)
    except NotFound:
        return seed_specs_for_plan(plan)


def existing_dockerfiles(session: Session, *, system: System) -> dict[str, str]:
    """The texts of the repository's own Dockerfiles as the newest analysis saw them."""
    analysis = analysis_service.latest_report(session, system_id=system.id)
    if analysis is None or not analysis.texts:
        return {}
    report = analysis.report or {}
    wanted = set((report.get("delivery") or {}).get("dockerfiles") or [])
    return {path: text for path, text in analysis.texts.items() if path in wanted}


def bundle_for(
    session: Session,
    *,
    system: System,
    plan: DeliveryPlan,
    validate: bool = True,
    templates: dict[str, TemplateSpec] | None = None,
) -> Bundle:
    """Generate and check every file of a plan for a system."""
    if plan.system != to_label(system.slug):
        raise ValidationFailed(
            "The plan belongs to another system.",
            errors=[{"loc": ["body", "plan", "system"], "type": "delivery.system", "msg": "other system"}],
        )
    return generate(
        plan,
        templates=templates if templates is not None else templates_for(session, plan=plan),
        existing_dockerfiles=existing_dockerfiles(session, system=system),
        validate=validate,
    )


def _secret_names(plan: DeliveryPlan) -> dict[str, set[str]]:
    return {s.name: {e.name for e in s.env if e.secret} for s in plan.services}


def save_draft(
    session: Session,
    *,
    settings: Settings,
    system: System,
    plan: DeliveryPlan,
    secret_values: SecretValues,
    analysis_id: str | None,
    actor_id: str | None,
) -> DeliveryDraft:
    """Store the operator's plan; secret values are checked against the plan, encrypted, and kept apart."""
    names = _secret_names(plan)
    for service, values in secret_values.items():
        unknown = set(values) - names.get(service, set())
        if unknown:
            raise ValidationFailed(
                "Secret values must belong to variables marked secret.",
                errors=[
                    {"loc": ["body", "secret_values", service], "type": "delivery.secret", "msg": "unknown"}
                ],
            )
    for planned in plan.services:  # a secret's value never sits in the plan
        for var in planned.env:
            if var.secret:
                var.value = ""
    draft = DeliveryDraft(
        system_id=system.id, analysis_id=analysis_id, plan=plan.model_dump(mode="json"), created_by=actor_id
    )
    session.add(draft)
    session.flush()
    draft.secrets = gitops.secrets_json(secret_values, settings=settings, context=draft.id)
    return draft


def get_draft(session: Session, *, system: System | None, draft_id: str) -> DeliveryDraft:
    """Return a draft (of ``system`` when given), or NotFound."""
    draft = session.get(DeliveryDraft, draft_id)
    if draft is None or (system is not None and draft.system_id != system.id):
        raise NotFound("No such delivery draft.")
    return draft


def secret_value_names(draft: DeliveryDraft, *, settings: Settings) -> dict[str, list[str]]:
    """Which secret values a draft holds, by service (names only: values are never shown again)."""
    if not draft.secrets:
        return {}
    values: SecretValues = json.loads(gitops.secret_box(settings).decrypt(draft.secrets, context=draft.id))
    return {service: sorted(names) for service, names in values.items()}


def commit(
    session: Session,
    *,
    settings: Settings,
    principal: Principal | None,
    system: System,
    plan: DeliveryPlan,
    why: str,
    ctx: AuditContext,
    who: str | None = None,
    draft_id: str | None = None,
    allow_overwrite_hand_edits: bool = False,
) -> GitOpsOperation:
    """Check the plan's files (an error blocks: nothing is written) and commit them to GitOps.

    ``principal`` is the signed-in user; the command line passes None and names itself in ``who``.
    """
    domain = domain_of(session, system)
    templates = templates_for(session, plan=plan)
    checked = bundle_for(session, system=system, plan=plan, templates=templates)
    if not checked.ok:
        raise ValidationFailed(
            "The generated files did not pass their checks; nothing was committed.",
            errors=[
                {"loc": ["files", c.path], "type": "delivery.check", "msg": c.message}
                for c in checked.checks
                if c.severity == "error"
            ],
        )

    def files_for(repository: GitOpsRepository) -> dict[str, str]:
        own = plan.model_copy(update={"gitops_repo_url": repository.url})
        return generate(own, templates=templates, validate=False).gitops_files()

    operation = gitops.deliver(
        session,
        settings=settings,
        system=system,
        domain=domain,
        files_for=files_for,
        envs=plan.environments,
        what=f"Deliver {domain.code}/{system.slug}: {', '.join(s.name for s in plan.services)}"
        f" to {', '.join(plan.environments)}",
        why=why,
        who=principal.username if principal is not None else (who or "unknown"),
        actor_id=principal.user_id if principal is not None else None,
        draft_id=draft_id,
        allow_overwrite_hand_edits=allow_overwrite_hand_edits,
    )
    if operation.state == OperationState.succeeded.value:
        for key in sorted({spec.key for spec in templates.values()}):
            if template_service.get_by_key(session, key=key) is not None:  # shipped seeds not stored: no row
                template_service.record_use(session, key=key)
    audit_service.record(
        session,
        ctx=ctx,
        action="gitops.deliver",
        target_type="system",
        target_id=system.id,
        summary=f"GitOps delivery of {system.slug}: {operation.state}",
        changes={"operation_id": operation.id, "state": operation.state, "commits": operation.commits},
        outcome="success" if operation.state == OperationState.succeeded.value else "failure",
    )
    return operation


def get_operation(session: Session, *, operation_id: str) -> GitOpsOperation:
    """Return a GitOps operation, or NotFound."""
    operation = session.get(GitOpsOperation, operation_id)
    if operation is None:
        raise NotFound("No such GitOps operation.")
    return operation


def latest_draft(session: Session, *, system: System) -> DeliveryDraft | None:
    """The system's newest delivery draft."""
    return session.scalar(
        select(DeliveryDraft)
        .where(DeliveryDraft.system_id == system.id)
        .order_by(DeliveryDraft.created_at.desc(), DeliveryDraft.id.desc())
        .limit(1)
    )


def app_patch(bundle: Bundle) -> str:
    """The application-repository files as a patch that ``git apply`` takes (new or changed files)."""
    out: list[str] = []
    for path, text in sorted(bundle.app_files().items()):
        lines = text.splitlines(keepends=True)
        out.append(f"diff --git a/{path} b/{path}\nnew file mode 100644\n")
        out.extend(difflib.unified_diff([], lines, fromfile="/dev/null", tofile=f"b/{path}", n=0))
    return "".join(out)


def file_diffs(current: dict[str, str], bundle: Bundle) -> dict[str, dict[str, Any]]:
    """For each GitOps file: new, unchanged or changed, with a unified diff against the repository."""
    result: dict[str, dict[str, Any]] = {}
    for path, text in bundle.gitops_files().items():
        before = current.get(path)
        if before is None:
            result[path] = {"status": "new", "diff": ""}
        elif before == text:
            result[path] = {"status": "unchanged", "diff": ""}
        else:
            diff = difflib.unified_diff(
                before.splitlines(keepends=True), text.splitlines(keepends=True), f"a/{path}", f"b/{path}"
            )
            result[path] = {"status": "changed", "diff": "".join(diff)}
    return result
