"""Pipeline template API under ``/api/v1/pipeline-templates``: anyone with pipelines:read reads; only
administrators (admin:settings — pipelines:edit is also held by operations) create and change."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from timbel.auth.deps import require
from timbel.auth.permissions import Permission
from timbel.auth.principal import Principal
from timbel.core.deps import AuditDep, SessionDep
from timbel.core.pagination import Page, PageDep
from timbel.pipelines import template_service
from timbel.pipelines.template_schemas import (
    PipelineTemplateCreate,
    PipelineTemplateRead,
    PipelineTemplateUpdate,
    PipelineTemplateVersionRead,
)
from timbel.scaffold.plan import Stack

router = APIRouter(prefix="/api/v1/pipeline-templates", tags=["pipelines"])
Reader = Annotated[Principal, Depends(require(Permission.pipelines_read))]
Editor = Annotated[Principal, Depends(require(Permission.admin_settings))]


@router.get("")
def list_pipeline_templates(
    _principal: Reader,
    session: SessionDep,
    paging: PageDep,
    stack: Annotated[Stack | None, Query()] = None,
) -> Page[PipelineTemplateRead]:
    """List pipeline templates by key, with their versions and usage counts (filter: stack)."""
    rows = template_service.list_templates(session, stack=stack)
    items = rows[paging.offset : paging.offset + paging.per_page]
    return Page[PipelineTemplateRead](
        items=[PipelineTemplateRead.model_validate(t) for t in items],
        total=len(rows),
        page=paging.page,
        per_page=paging.per_page,
    )


@router.post("", status_code=status.HTTP_201_CREATED)
def create_pipeline_template(
    body: PipelineTemplateCreate, _principal: Editor, session: SessionDep, audit: AuditDep
) -> PipelineTemplateRead:
    """Create a pipeline template (administrators)."""
    template = template_service.create(session, data=body, ctx=audit)
    return PipelineTemplateRead.model_validate(template)


@router.get("/{template_id}")
def get_pipeline_template(template_id: str, _principal: Reader, session: SessionDep) -> PipelineTemplateRead:
    """Read one pipeline template."""
    return PipelineTemplateRead.model_validate(template_service.get(session, template_id=template_id))


@router.patch("/{template_id}")
def update_pipeline_template(
    template_id: str, body: PipelineTemplateUpdate, _principal: Editor, session: SessionDep, audit: AuditDep
) -> PipelineTemplateRead:
    """Change a pipeline template (administrators); a real change is a new version."""
    template = template_service.get(session, template_id=template_id)
    template_service.update(session, template=template, data=body, ctx=audit)
    return PipelineTemplateRead.model_validate(template)


@router.get("/{template_id}/versions")
def list_pipeline_template_versions(
    template_id: str, _principal: Reader, session: SessionDep
) -> list[PipelineTemplateVersionRead]:
    """List a template's saved versions, newest first."""
    template = template_service.get(session, template_id=template_id)
    return [
        PipelineTemplateVersionRead.model_validate(v)
        for v in template_service.versions(session, template=template)
    ]
