"""Pipeline secrets API: list the names, set/replace/delete values; values are write-only.

Both routes need ``pipelines:edit``; the pipeline is scoped to the caller's domains through its system
(others answer 404). No response, error or audit entry ever contains a value.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends
from pydantic import BaseModel

from timbel.auth.deps import require
from timbel.auth.permissions import Permission
from timbel.auth.principal import Principal
from timbel.core.deps import AuditDep, SessionDep, SettingsDep
from timbel.core.errors import ValidationFailed
from timbel.pipelines import secrets as pipeline_secrets
from timbel.pipelines.run_routes import visible_pipeline

router = APIRouter(prefix="/api/v1", tags=["pipelines"])
Editor = Annotated[Principal, Depends(require(Permission.pipelines_edit))]


class SecretNames(BaseModel):
    """The names of a pipeline's secrets (the values are never returned)."""

    names: list[str]


def _changes(body: dict[str, Any]) -> dict[str, str | None]:
    """The body as name → value | None; a wrong type is refused without echoing what was sent."""
    bad = [name for name, value in body.items() if value is not None and not isinstance(value, str)]
    if bad:
        raise ValidationFailed(
            "Secret values must be strings or null.",
            errors=[{"loc": ["body", name], "msg": "string or null", "type": "pipeline_secret.type"}
                    for name in bad[:50]],
        )  # fmt: skip
    return {str(name): value for name, value in body.items()}


@router.get("/pipelines/{pipeline_id}/secrets")
def list_secrets(pipeline_id: str, principal: Editor, session: SessionDep) -> SecretNames:
    """The names of the pipeline's secrets."""
    pipeline = visible_pipeline(session, principal=principal, pipeline_id=pipeline_id)
    return SecretNames(names=pipeline_secrets.names(pipeline))


@router.put("/pipelines/{pipeline_id}/secrets")
def put_secrets(
    pipeline_id: str,
    body: Annotated[dict[str, Any], Body()],
    principal: Editor,
    session: SessionDep,
    settings: SettingsDep,
    audit: AuditDep,
) -> SecretNames:
    """Set ({name: value}) or delete ({name: null}) secrets; names left out are kept."""
    pipeline = visible_pipeline(session, principal=principal, pipeline_id=pipeline_id)
    names = pipeline_secrets.update_secrets(
        session, pipeline=pipeline, settings=settings, changes=_changes(body), ctx=audit
    )
    return SecretNames(names=names)
