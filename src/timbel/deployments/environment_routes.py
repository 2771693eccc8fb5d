"""Environments API: a domain's environments (defaults created on first read), and their administration.

Reading needs ``deploy:read`` and a visible domain; creating, changing, deleting and reordering need
``admin:settings``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response, status
from pydantic import BaseModel, ConfigDict, Field

from timbel.auth.deps import require
from timbel.auth.permissions import Permission
from timbel.auth.principal import Principal
from timbel.catalog.service import sees_all
from timbel.core.deps import AuditDep, SessionDep
from timbel.core.errors import NotFound
from timbel.deployments import environment_service as envs
from timbel.deployments import service

router = APIRouter(prefix="/api/v1", tags=["environments"])
Reader = Annotated[Principal, Depends(require(Permission.deploy_read))]
Admin = Annotated[Principal, Depends(require(Permission.admin_settings))]


class EnvironmentOrder(BaseModel):
    """The promotion order: every environment name of the domain, once."""

    model_config = ConfigDict(extra="forbid")
    names: list[str] = Field(min_length=1, max_length=50)


def _visible_domain(principal: Principal, domain_id: str) -> None:
    if not (sees_all(principal) or domain_id in principal.domain_ids):
        raise NotFound("No such domain.")


@router.get("/domains/{domain_id}/environments")
def list_environments(domain_id: str, principal: Reader, session: SessionDep) -> list[dict[str, Any]]:
    """A domain's environments in promotion order (dev, stg, prod are created on first use)."""
    _visible_domain(principal, domain_id)
    envs.get_domain(session, domain_id=domain_id)
    return [envs.as_dict(r) for r in service.environments_for(session, domain_id=domain_id)]


@router.post("/domains/{domain_id}/environments", status_code=status.HTTP_201_CREATED)
def create_environment(
    domain_id: str,
    body: envs.EnvironmentWrite,
    response: Response,
    principal: Admin,
    session: SessionDep,
    audit: AuditDep,
) -> dict[str, Any]:
    """Add an environment at the end of the promotion order."""
    row = envs.create(session, domain_id=domain_id, data=body, ctx=audit)
    response.headers["Location"] = f"/api/v1/environments/{row.id}"
    return envs.as_dict(row)


@router.patch("/environments/{environment_id}")
def update_environment(
    environment_id: str, body: envs.EnvironmentWrite, principal: Admin, session: SessionDep, audit: AuditDep
) -> dict[str, Any]:
    """Change an environment's settings (only the fields sent)."""
    row = envs.get_or_raise(session, environment_id=environment_id)
    return envs.as_dict(envs.update(session, row=row, data=body, ctx=audit))


@router.delete("/environments/{environment_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_environment(
    environment_id: str, principal: Admin, session: SessionDep, audit: AuditDep
) -> Response:
    """Delete an environment without deployments (409 otherwise, and for a domain's last one)."""
    envs.delete(session, row=envs.get_or_raise(session, environment_id=environment_id), ctx=audit)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/domains/{domain_id}/environments/order")
def reorder_environments(
    domain_id: str, body: EnvironmentOrder, principal: Admin, session: SessionDep, audit: AuditDep
) -> list[dict[str, Any]]:
    """Set the promotion order of a domain's environments."""
    return [envs.as_dict(r) for r in envs.reorder(session, domain_id=domain_id, names=body.names, ctx=audit)]
