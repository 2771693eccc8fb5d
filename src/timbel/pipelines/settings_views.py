"""The pipeline settings page ``/pipelines/{id}/settings``: stages, engine, triggers, webhook, versions.

Reading needs ``pipelines:read``; saving ``pipelines:edit``. Pipelines are scoped to the caller's domains
through their system (others answer 404). Saves go through ``pipeline_service.update`` (a new version only
when something changed); the trigger form also syncs the GitHub webhook exactly as the triggers API does.
"""

from __future__ import annotations

from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import Response

from timbel.auth.deps import require_page
from timbel.auth.models import User
from timbel.auth.permissions import Permission
from timbel.auth.principal import Principal
from timbel.catalog.models import System
from timbel.core.deps import AuditDep, SessionDep
from timbel.core.errors import AppError
from timbel.integrations.base import IntegrationKind
from timbel.integrations.models import Integration
from timbel.pipelines import hook_registration, pipeline_service
from timbel.pipelines import secrets as pipeline_secrets
from timbel.pipelines.run_models import Pipeline
from timbel.pipelines.run_pages import ENGINES
from timbel.pipelines.run_routes import visible_pipeline
from timbel.pipelines.template_views import STAGE_INVALID, YAML_INVALID
from timbel.web.forms import FormErrors, discard_changes, from_app_error, read_form, text
from timbel.web.i18n import N_
from timbel.web.redirects import redirect, register_flashes
from timbel.web.templating import render

router = APIRouter(tags=["web"], include_in_schema=False)
Reader = Annotated[Principal, Depends(require_page(Permission.pipelines_read))]
Editor = Annotated[Principal, Depends(require_page(Permission.pipelines_edit))]
Form = Annotated[FormData, Depends(read_form)]
STAGE_KEYS = ("name", "kind", "command", "timeout_seconds", "retries", "continue_on_failure", "workdir")
STAGES_SHAPE = N_("Write the stages as a list of entries with name, kind and command.")
STAGES_UNIQUE = N_("Stage names must be unique.")
STAGES_EMPTY = N_("A pipeline needs at least one stage.")
CRON_INVALID = N_("The schedule is not a valid cron expression (minute hour day month weekday, UTC).")
GLOB_INVALID = N_("One branch pattern per line: letters, digits and . _ / * ? @ + - [ ].")
JENKINS_INVALID = N_("Choose one of the offered Jenkins instances.")
ENGINE_INVALID = N_("Choose one of the offered engines.")
SECRET_NAME_INVALID = N_(
    "Use capital letters, digits and _ (not starting with a digit, at most 64); TIMBEL_*, PATH, HOME, LANG "
    "and CI are reserved."
)
SECRET_VALUE_INVALID = N_("Enter a value of at most 32 KiB.")
SECRET_COUNT_INVALID = N_("A pipeline has at most 50 secrets.")
HOOK_STATES = {
    "registered": N_("Registered"),
    "manual": N_("Manual setup needed"),
    "failed": N_("Failed"),
    "off": N_("Off"),
}
HOOK_BADGES = {
    "registered": "bg-green-lt",
    "manual": "bg-yellow-lt",
    "failed": "bg-red-lt",
    "off": "bg-secondary-lt",
}
register_flashes(
    {
        "pipeline_settings_saved": N_("The pipeline settings were saved as a new version."),
        "pipeline_settings_unchanged": N_("Nothing was changed."),
        "pipeline_secret_saved": N_("The secret was saved."),
        "pipeline_secret_deleted": N_("The secret was deleted."),
    }
)


class _Dumper(yaml.SafeDumper):
    """YAML dumper writing multi-line commands as literal blocks."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def stages_yaml(stages: list[dict[str, Any]]) -> str:
    """Show a pipeline's stages as YAML (fields in a fixed order, commands as literal blocks)."""
    ordered = []
    for stage in stages:
        item = {key: stage[key] for key in STAGE_KEYS if key in stage}
        if isinstance(item.get("command"), str):
            item["command"] = "\n".join(line.rstrip() for line in item["command"].strip("\n").split("\n"))
        ordered.append(item)
    dumped = yaml.dump(ordered, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=200)
    return dumped if stages else ""


def parse_stages(source: str, errors: FormErrors) -> list[Any] | None:
    """The stages typed as YAML, or None (with a field error) when it is not a list of mappings."""
    try:
        data = yaml.safe_load(source) if source.strip() else []
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        errors.add("stages", YAML_INVALID, line=(mark.line + 1) if mark is not None else 1)
        return None
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        errors.add("stages", STAGES_SHAPE)
        return None
    return data


def service_errors(exc: AppError) -> FormErrors:
    """The service's validation errors as messages on the settings fields."""
    errors = FormErrors()
    for item in exc.errors:
        loc = [p for p in item.get("loc", ()) if p != "body"]
        name = str(loc[0]) if loc else ""
        if name == "stages" and len(loc) > 2 and isinstance(loc[1], int):
            errors.add("stages", STAGE_INVALID, number=loc[1] + 1, field=str(loc[2]))
        elif name == "stages":
            unique = "unique" in str(item.get("msg", ""))
            errors.add("stages", STAGES_UNIQUE if unique else STAGES_EMPTY)
        elif name == "schedule":
            errors.add("schedule", CRON_INVALID)
        elif name == "branch_filters":
            errors.add("branch_filters", GLOB_INVALID)
        elif name == "jenkins_integration_id":
            errors.add("jenkins_integration_id", JENKINS_INVALID)
        elif name == "engine":
            errors.add("engine", ENGINE_INVALID)
    if not errors:
        return from_app_error(exc)
    errors.detail = "; ".join(str(i.get("msg", "")) for i in exc.errors)[:500] or None
    return errors


def jenkins_instances(session: Session, *, system: System | None) -> list[Integration]:
    """Jenkins instances the pipeline may use: global ones and those of the system's domain."""
    domain = system.domain_id if system is not None else None
    stmt = select(Integration).where(Integration.kind == IntegrationKind.jenkins.value)
    rows = session.scalars(stmt.order_by(Integration.name))
    return [row for row in rows if row.domain_id in (None, domain)]


def form_values(pipeline: Pipeline) -> dict[str, Any]:
    """The form fields as stored on the pipeline."""
    return {
        "stages": stages_yaml(list(pipeline.stages or [])),
        "engine": pipeline.engine,
        "jenkins_integration_id": pipeline.jenkins_integration_id or "",
        "push_enabled": pipeline.push_enabled,
        "branch_filters": "\n".join(pipeline.branch_filters or []),
        "schedule": pipeline.schedule or "",
        "supersede_queued": pipeline.supersede_queued,
        "secret_name": "",
    }


def _versions(session: Session, pipeline: Pipeline) -> list[dict[str, Any]]:
    rows = pipeline_service.versions(session, pipeline=pipeline)
    ids = {v.author_id for v in rows if v.author_id}
    found = session.execute(select(User.id, User.username).where(User.id.in_(ids))).all()
    names = {row[0]: row[1] for row in found}
    return [{"version": v, "author": names.get(v.author_id or "", "")} for v in rows]


def _page(
    request: Request,
    session: Session,
    *,
    principal: Principal,
    pipeline: Pipeline,
    form: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    status: int = 200,
) -> HTMLResponse:
    system = session.get(System, pipeline.system_id)
    context = {
        "pipeline": pipeline,
        "system": system,
        "form": form_values(pipeline) | (form or {}),
        "errors": errors or FormErrors(),
        "can_edit": principal.has(Permission.pipelines_edit),
        "engines": ENGINES,
        "jenkins": jenkins_instances(session, system=system),
        "webhook": hook_registration.status(
            session, pipeline=pipeline, public_url=hook_registration.public_url(request)
        ),
        "hook_states": HOOK_STATES,
        "hook_badges": HOOK_BADGES,
        "versions": _versions(session, pipeline),
        "default_branch": (system.default_branch if system else "") or "main",
        "secret_names": pipeline_secrets.names(pipeline),
    }
    return render(request, "pipelines/settings.html", context, status_code=status)


def _url(pipeline_id: str) -> str:
    return f"/pipelines/{pipeline_id}/settings"


@router.get("/pipelines/{pipeline_id}/settings", response_class=HTMLResponse)
def settings_page(pipeline_id: str, request: Request, principal: Reader, session: SessionDep) -> HTMLResponse:
    """Show a pipeline's stages, engine, triggers, webhook state and versions (forms for editors)."""
    pipeline = visible_pipeline(session, principal=principal, pipeline_id=pipeline_id)
    return _page(request, session, principal=principal, pipeline=pipeline)


def _save(
    request: Request,
    session: Session,
    *,
    principal: Principal,
    pipeline_id: str,
    audit: Any,
    data: dict[str, Any],
    typed: dict[str, Any],
    sync_hook: bool = False,
) -> Response:
    """Apply ``data`` through the service; redirect with a flash, or re-render with what was typed (422)."""
    pipeline = visible_pipeline(session, principal=principal, pipeline_id=pipeline_id)
    before = pipeline.version
    try:
        pipeline_service.update(session, pipeline=pipeline, data=data, ctx=audit)
    except AppError as exc:
        discard_changes(session, exc)
        pipeline = visible_pipeline(session, principal=principal, pipeline_id=pipeline_id)
        errors = service_errors(exc)
        return _page(
            request, session, principal=principal, pipeline=pipeline, form=typed, errors=errors, status=422
        )
    if sync_hook:
        hook_registration.sync_hook(
            session, pipeline=pipeline, settings=request.app.state.settings,
            public_url=hook_registration.public_url(request), ctx=audit,
        )  # fmt: skip
    flash = "pipeline_settings_saved" if pipeline.version != before else "pipeline_settings_unchanged"
    return redirect(request, _url(pipeline_id), flash=flash)


@router.post("/pipelines/{pipeline_id}/settings/stages")
def save_stages(
    pipeline_id: str, request: Request, principal: Editor, session: SessionDep, audit: AuditDep, form: Form
) -> Response:
    """Save the stages typed as YAML; bad YAML or an invalid stage answers 422 keeping the text."""
    source = text(form, "stages", limit=200_000)
    errors = FormErrors()
    stages = parse_stages(source, errors)
    if stages is None:
        pipeline = visible_pipeline(session, principal=principal, pipeline_id=pipeline_id)
        return _page(
            request, session, principal=principal, pipeline=pipeline,
            form={"stages": source}, errors=errors, status=422,
        )  # fmt: skip
    return _save(
        request, session, principal=principal, pipeline_id=pipeline_id, audit=audit,
        data={"stages": stages}, typed={"stages": source},
    )  # fmt: skip


@router.post("/pipelines/{pipeline_id}/settings/engine")
def save_engine(
    pipeline_id: str, request: Request, principal: Editor, session: SessionDep, audit: AuditDep, form: Form
) -> Response:
    """Save the engine (local or jenkins) and the Jenkins instance ("" = the default one)."""
    engine = text(form, "engine", limit=16)
    instance = text(form, "jenkins_integration_id", limit=36) if engine == "jenkins" else ""
    pipeline = visible_pipeline(session, principal=principal, pipeline_id=pipeline_id)
    typed = {"engine": engine, "jenkins_integration_id": instance}
    allowed = {row.id for row in jenkins_instances(session, system=session.get(System, pipeline.system_id))}
    if engine not in ENGINES or (instance and instance not in allowed):
        errors = FormErrors()
        if engine not in ENGINES:
            errors.add("engine", ENGINE_INVALID)
        else:
            errors.add("jenkins_integration_id", JENKINS_INVALID)
        return _page(
            request, session, principal=principal, pipeline=pipeline, form=typed, errors=errors, status=422
        )
    data = {"engine": engine, "jenkins_integration_id": instance or None}
    return _save(
        request, session, principal=principal, pipeline_id=pipeline_id, audit=audit, data=data, typed=typed
    )


@router.post("/pipelines/{pipeline_id}/settings/triggers")
def save_triggers(
    pipeline_id: str, request: Request, principal: Editor, session: SessionDep, audit: AuditDep, form: Form
) -> Response:
    """Save the push trigger, branch filters, schedule and supersede switch; syncs the GitHub webhook."""
    filters = text(form, "branch_filters", limit=20_000)
    typed = {
        "push_enabled": form.get("push_enabled") == "on",
        "branch_filters": filters,
        "schedule": text(form, "schedule", limit=200),
        "supersede_queued": form.get("supersede_queued") == "on",
    }
    data = typed | {
        "branch_filters": [line.strip() for line in filters.splitlines() if line.strip()],
        "schedule": typed["schedule"] or None,
    }
    return _save(
        request, session, principal=principal, pipeline_id=pipeline_id, audit=audit,
        data=data, typed=typed, sync_hook=True,
    )  # fmt: skip


def _secret_errors(exc: AppError) -> FormErrors:
    """The secret service's validation errors on the secret form's fields (never with the value)."""
    errors = FormErrors()
    kinds = {str(item.get("type", "")) for item in exc.errors}
    if "pipeline_secret.name" in kinds:
        errors.add("secret_name", SECRET_NAME_INVALID)
    if kinds & {"pipeline_secret.size", "pipeline_secret.value"}:
        errors.add("secret_value", SECRET_VALUE_INVALID)
    if "pipeline_secret.count" in kinds:
        errors.add("secret_name", SECRET_COUNT_INVALID)
    return errors if errors else from_app_error(exc)


def _save_secret(
    request: Request, session: Session, *, principal: Principal, pipeline_id: str, audit: Any,
    name: str, value: str | None,
) -> Response:  # fmt: skip
    pipeline = visible_pipeline(session, principal=principal, pipeline_id=pipeline_id)
    try:
        pipeline_secrets.update_secrets(
            session, pipeline=pipeline, settings=request.app.state.settings, changes={name: value}, ctx=audit
        )
    except AppError as exc:
        discard_changes(session, exc)
        pipeline = visible_pipeline(session, principal=principal, pipeline_id=pipeline_id)
        return _page(
            request, session, principal=principal, pipeline=pipeline,
            form={"secret_name": name}, errors=_secret_errors(exc), status=422,
        )  # fmt: skip
    flash = "pipeline_secret_deleted" if value is None else "pipeline_secret_saved"
    return redirect(request, _url(pipeline_id), flash=flash)


@router.post("/pipelines/{pipeline_id}/settings/secrets")
def save_secret(
    pipeline_id: str, request: Request, principal: Editor, session: SessionDep, audit: AuditDep, form: Form
) -> Response:
    """Add or replace one secret (the value is write-only and never shown again)."""
    raw = form.get("secret_value")
    value = raw[: pipeline_secrets.MAX_VALUE_BYTES + 1] if isinstance(raw, str) else ""
    return _save_secret(
        request, session, principal=principal, pipeline_id=pipeline_id, audit=audit,
        name=text(form, "secret_name", limit=100), value=value,
    )  # fmt: skip


@router.post("/pipelines/{pipeline_id}/settings/secrets/delete")
def delete_secret(
    pipeline_id: str, request: Request, principal: Editor, session: SessionDep, audit: AuditDep, form: Form
) -> Response:
    """Delete one secret by name."""
    return _save_secret(
        request, session, principal=principal, pipeline_id=pipeline_id, audit=audit,
        name=text(form, "secret_name", limit=100), value=None,
    )  # fmt: skip
