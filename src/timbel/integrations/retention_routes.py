"""Image retention API (admins only): ``POST /api/v1/integrations/{id}/retention`` — a dry run by default."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends
from pydantic import BaseModel, ConfigDict, Field

from timbel.auth.deps import require
from timbel.auth.permissions import Permission
from timbel.auth.principal import Principal
from timbel.core.deps import AuditDep, SessionDep, SettingsDep
from timbel.integrations import retention_service
from timbel.integrations.retention_service import RetentionReport

router = APIRouter(prefix="/api/v1/integrations", tags=["integrations"])
Admin = Annotated[Principal, Depends(require(Permission.admin_integrations))]


class RetentionRequest(BaseModel):
    """What to clean up; nothing is deleted unless ``dry_run`` is explicitly false."""

    model_config = ConfigDict(extra="forbid")

    repository: str | None = Field(
        default=None, min_length=1, max_length=255, description="One image; all when empty"
    )
    keep_last: int | None = Field(
        default=None, ge=0, le=10000, description="Keep the newest N tags (default: the instance's policy)"
    )
    dry_run: bool = Field(default=True, description="Only report what would be deleted")
    protected: list[str] = Field(
        default_factory=list, max_length=1000, description="Tags or digests to keep (e.g. deployed ones)"
    )


@router.post("/{integration_id}/retention")
def run_retention(
    integration_id: str,
    _: Admin,
    session: SessionDep,
    settings: SettingsDep,
    audit: AuditDep,
    body: Annotated[RetentionRequest | None, Body()] = None,
) -> RetentionReport:
    """Plan retention of a registry or Nexus instance (dry run; no body = defaults) or apply it."""
    body = body or RetentionRequest()
    return retention_service.run_retention(
        session, settings=settings, integration_id=integration_id, ctx=audit, repository=body.repository,
        keep_last=body.keep_last, dry_run=body.dry_run, protected=body.protected,
    )  # fmt: skip
