"""Pipeline triggers API: read and change the push trigger and schedule; registers the GitHub push webhook.

``GET /api/v1/pipelines/{id}/triggers`` needs ``pipelines:read``, ``PUT`` needs ``pipelines:edit``; both are
scoped to the caller's domains like the rest of the pipelines API (others answer 404).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session

from timbel.auth.deps import require
from timbel.auth.permissions import Permission
from timbel.auth.principal import Principal
from timbel.core.deps import AuditDep, SessionDep
from timbel.pipelines import hook_registration, pipeline_service
from timbel.pipelines.run_models import Pipeline
from timbel.pipelines.run_routes import visible_pipeline
from timbel.pipelines.triggers import TriggersRead, TriggersUpdate

router = APIRouter(prefix="/api/v1", tags=["pipelines"])
Reader = Annotated[Principal, Depends(require(Permission.pipelines_read))]
Editor = Annotated[Principal, Depends(require(Permission.pipelines_edit))]


def _read(session: Session, pipeline: Pipeline, request: Request) -> TriggersRead:
    webhook = hook_registration.status(
        session, pipeline=pipeline, public_url=hook_registration.public_url(request)
    )
    return TriggersRead(
        pipeline_id=pipeline.id,
        push_enabled=pipeline.push_enabled,
        branch_filters=list(pipeline.branch_filters or []),
        schedule=pipeline.schedule,
        webhook=webhook,
    )


@router.get("/pipelines/{pipeline_id}/triggers")
def get_triggers(pipeline_id: str, request: Request, principal: Reader, session: SessionDep) -> TriggersRead:
    """The push trigger, schedule and webhook (with set-up instructions unless Timbel registered it)."""
    pipeline = visible_pipeline(session, principal=principal, pipeline_id=pipeline_id)
    return _read(session, pipeline, request)


@router.put("/pipelines/{pipeline_id}/triggers")
def put_triggers(
    pipeline_id: str,
    body: TriggersUpdate,
    request: Request,
    principal: Editor,
    session: SessionDep,
    audit: AuditDep,
) -> TriggersRead:
    """Change the triggers (a new pipeline version); turning push on registers the webhook, off deletes it."""
    pipeline = visible_pipeline(session, principal=principal, pipeline_id=pipeline_id)
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    pipeline_service.update(session, pipeline=pipeline, data=changes, ctx=audit)
    hook_registration.sync_hook(
        session,
        pipeline=pipeline,
        settings=request.app.state.settings,
        public_url=hook_registration.public_url(request),
        ctx=audit,
    )
    return _read(session, pipeline, request)
