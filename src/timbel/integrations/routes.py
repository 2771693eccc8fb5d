"""Integration instances API (admins only): list, create, read, update, delete, test connection."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from timbel.auth.deps import require
from timbel.auth.permissions import Permission
from timbel.auth.principal import Principal
from timbel.core.deps import AuditDep, SessionDep, SettingsDep
from timbel.integrations import service
from timbel.integrations.base import IntegrationKind
from timbel.integrations.registry_of_adapters import registered_kinds
from timbel.integrations.schemas import (
    ConnectionReportRead,
    IntegrationCreate,
    IntegrationRead,
    IntegrationUpdate,
    KindRead,
)

router = APIRouter(prefix="/api/v1/integrations", tags=["integrations"])
Admin = Annotated[Principal, Depends(require(Permission.admin_integrations))]


@router.get("")
def list_integrations(
    _: Admin, session: SessionDep, kind: IntegrationKind | None = None, domain_id: str | None = None
) -> list[IntegrationRead]:
    """Every integration instance (secrets omitted), optionally of one kind or domain."""
    return [IntegrationRead.of(r) for r in service.list_instances(session, kind=kind, domain_id=domain_id)]


@router.get("/kinds")
def list_kinds(_: Admin) -> list[KindRead]:
    """Every integration kind, whether an adapter serves it yet, and the secret fields it takes."""
    adapters = registered_kinds()
    kinds = []
    for kind in IntegrationKind:
        spec = adapters.get(kind)
        kinds.append(
            KindRead(
                kind=kind,
                has_adapter=spec is not None,
                secret_fields=None if spec is None else sorted(spec.secret_fields or ()),
                config_schema=spec.config.model_json_schema() if spec and spec.config else None,
            )
        )
    return kinds


@router.post("", status_code=status.HTTP_201_CREATED)
def create_integration(
    body: IntegrationCreate, _: Admin, session: SessionDep, settings: SettingsDep, audit: AuditDep
) -> IntegrationRead:
    """Add an instance; its secrets are encrypted and never shown again."""
    return IntegrationRead.of(service.create(session, settings=settings, data=body, ctx=audit))


@router.get("/{integration_id}")
def read_integration(integration_id: str, _: Admin, session: SessionDep) -> IntegrationRead:
    """One instance (secrets omitted; ``secret_fields`` names the stored ones)."""
    return IntegrationRead.of(service.get_or_raise(session, integration_id=integration_id))


@router.patch("/{integration_id}")
def update_integration(
    integration_id: str,
    body: IntegrationUpdate,
    _: Admin,
    session: SessionDep,
    settings: SettingsDep,
    audit: AuditDep,
) -> IntegrationRead:
    """Change an instance; per secret field: absent keeps, null clears, a value replaces."""
    row = service.get_or_raise(session, integration_id=integration_id)
    return IntegrationRead.of(service.update(session, settings=settings, row=row, data=body, ctx=audit))


@router.delete("/{integration_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_integration(integration_id: str, _: Admin, session: SessionDep, audit: AuditDep) -> Response:
    """Delete an instance."""
    service.delete(session, row=service.get_or_raise(session, integration_id=integration_id), ctx=audit)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{integration_id}/test")
def run_connection_test(
    integration_id: str, _: Admin, session: SessionDep, settings: SettingsDep, audit: AuditDep
) -> ConnectionReportRead:
    """Test the connection now: what was checked, and a precise reason for each failed check."""
    row = service.get_or_raise(session, integration_id=integration_id)
    return ConnectionReportRead.of(service.test(session, settings=settings, row=row, ctx=audit))
