"""Pipeline template pages under ``/admin/pipeline-templates``: the list with usage counts (pipelines:read)
and the create/edit form (administrators), where stages are YAML checked on the server."""

from __future__ import annotations

from typing import Annotated, Any, get_args

import yaml
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import Response

from timbel.auth.deps import require_page
from timbel.auth.permissions import Permission
from timbel.auth.principal import Principal
from timbel.core.deps import AuditDep, SessionDep
from timbel.core.errors import AppError
from timbel.pipelines import template_service
from timbel.pipelines.models import PipelineTemplate
from timbel.pipelines.template_schemas import PipelineTemplateCreate, PipelineTemplateUpdate
from timbel.scaffold.plan import Stack
from timbel.web.forms import (
    FormErrors,
    discard_changes,
    from_app_error,
    from_validation_error,
    read_form,
    text,
)
from timbel.web.i18n import N_
from timbel.web.redirects import redirect, register_flashes
from timbel.web.templating import render

router = APIRouter(prefix="/admin/pipeline-templates", tags=["web"], include_in_schema=False)
Reader = Annotated[Principal, Depends(require_page(Permission.pipelines_read))]
Editor = Annotated[Principal, Depends(require_page(Permission.admin_settings))]
Form = Annotated[FormData, Depends(read_form)]
STACKS: tuple[str, ...] = get_args(Stack)
FIELDS = ("key", "name", "stack", "framework", "description", "stages")
YAML_INVALID = N_("The stages are not valid YAML (line %(line)s).")
YAML_SHAPE = N_("Write the stages as a list of entries with name, image and commands.")
STAGE_INVALID = N_("Stage %(number)s: check its %(field)s.")
ERROR_TYPES = {
    "pipeline_template.secret": N_("A command writes a secret literally; use Jenkins credentials instead."),
    "pipeline_template.key_taken": N_("A pipeline template with that key already exists."),
}

register_flashes(
    {
        "pipeline_template_created": N_("The pipeline template was created."),
        "pipeline_template_saved": N_("The pipeline template was saved."),
        "pipeline_template_unchanged": N_("Nothing was changed."),
    }
)


def stages_yaml(stages: list[dict[str, Any]]) -> str:
    """Show stages as YAML in the form (name, image, commands in that order)."""
    if not stages:
        return ""
    ordered = [
        {"name": s["name"], "image": s.get("image", ""), "commands": list(s["commands"])} for s in stages
    ]
    return yaml.safe_dump(ordered, sort_keys=False, allow_unicode=True, default_flow_style=False, width=200)


def _parse_stages(source: str, errors: FormErrors) -> list[Any] | None:
    """Read the stages text; add a field error and return None when it is not a YAML list of mappings."""
    try:
        data = yaml.safe_load(source) if source.strip() else []
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        errors.add("stages", YAML_INVALID, line=(mark.line + 1) if mark is not None else 1)
        return None
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        errors.add("stages", YAML_SHAPE)
        return None
    return data


def _validation_errors(exc: ValidationError) -> FormErrors:
    errors = FormErrors()
    general = from_validation_error(exc)
    for item in exc.errors():
        loc = [p for p in item.get("loc", ()) if p != "body"]
        if loc and loc[0] == "stages":
            if len(loc) > 2 and isinstance(loc[1], int):
                errors.add("stages", STAGE_INVALID, number=loc[1] + 1, field=str(loc[2]))
            else:
                errors.add("stages", YAML_SHAPE)
    for name, messages in general.fields.items():
        if name != "stages":
            errors.fields[name] = messages
    return errors


def _app_errors(exc: AppError) -> FormErrors:
    errors = FormErrors()
    for item in exc.errors:
        message = ERROR_TYPES.get(str(item.get("type", "")))
        if message is not None:
            loc = [p for p in item.get("loc", ()) if p != "body"]
            errors.add(str(loc[0]) if loc else None, message)
    return errors or from_app_error(exc)


def _form_page(
    request: Request,
    session: Session,
    *,
    template: PipelineTemplate | None,
    form: dict[str, Any],
    errors: FormErrors | None = None,
    status: int = 200,
) -> HTMLResponse:
    context = {
        "template": template,
        "form": form,
        "errors": errors or FormErrors(),
        "stacks": STACKS,
        "versions": template_service.versions(session, template=template) if template else [],
    }
    return render(request, "pipelines/template_form.html", context, status_code=status)


@router.get("", response_class=HTMLResponse)
def pipeline_template_list(request: Request, principal: Reader, session: SessionDep) -> HTMLResponse:
    """List the pipeline templates with their stack, version and usage count."""
    context = {
        "rows": template_service.list_templates(session),
        "can_edit": principal.has(Permission.admin_settings),
    }
    return render(request, "pipelines/templates.html", context)


@router.get("/new", response_class=HTMLResponse)
def pipeline_template_new(request: Request, _principal: Editor, session: SessionDep) -> HTMLResponse:
    """Show the form for a new pipeline template."""
    blank = {name: "" for name in FIELDS} | {"stack": "node"}
    return _form_page(request, session, template=None, form=blank)


@router.post("/new")
def pipeline_template_create(
    request: Request, _principal: Editor, session: SessionDep, audit: AuditDep, form: Form
) -> Response:
    """Create a pipeline template from the form."""
    submitted = {name: text(form, name, limit=100_000) for name in FIELDS}
    errors = FormErrors()
    stages = _parse_stages(submitted["stages"], errors)
    if stages is not None:
        try:
            data = PipelineTemplateCreate.model_validate({**submitted, "stages": stages})
            template = template_service.create(session, data=data, ctx=audit)
        except ValidationError as exc:
            errors = _validation_errors(exc)
        except AppError as exc:
            discard_changes(session, exc)
            errors = _app_errors(exc)
        else:
            url = f"/admin/pipeline-templates/{template.id}/edit"
            return redirect(request, url, flash="pipeline_template_created")
    return _form_page(request, session, template=None, form=submitted, errors=errors, status=422)


@router.get("/{template_id}/edit", response_class=HTMLResponse)
def pipeline_template_edit(
    template_id: str, request: Request, _principal: Editor, session: SessionDep
) -> HTMLResponse:
    """Show the edit form of a pipeline template with its version history."""
    template = template_service.get(session, template_id=template_id)
    values = {name: getattr(template, name) for name in FIELDS if name != "stages"}
    values["stages"] = stages_yaml(template.stages)
    return _form_page(request, session, template=template, form=values)


@router.post("/{template_id}/edit")
def pipeline_template_update(
    template_id: str, request: Request, _principal: Editor, session: SessionDep, audit: AuditDep, form: Form
) -> Response:
    """Save a pipeline template (a new version when something changed); bad YAML keeps what was typed."""
    template = template_service.get(session, template_id=template_id)
    submitted = {name: text(form, name, limit=100_000) for name in FIELDS if name != "key"}
    submitted["key"] = template.key
    errors = FormErrors()
    stages = _parse_stages(submitted["stages"], errors)
    if stages is not None:
        before = template.version
        try:
            payload = {name: submitted[name] for name in ("name", "stack", "framework", "description")}
            data = PipelineTemplateUpdate.model_validate({**payload, "stages": stages})
            template_service.update(session, template=template, data=data, ctx=audit)
        except ValidationError as exc:
            errors = _validation_errors(exc)
        except AppError as exc:
            discard_changes(session, exc)
            errors = _app_errors(exc)
        else:
            flash = "pipeline_template_saved" if template.version != before else "pipeline_template_unchanged"
            return redirect(request, f"/admin/pipeline-templates/{template_id}/edit", flash=flash)
    return _form_page(request, session, template=template, form=submitted, errors=errors, status=422)
