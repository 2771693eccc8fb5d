"""Notifications API: the delivery log and a test message to one channel (integration administrators)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from timbel.auth.deps import require
from timbel.auth.permissions import Permission
from timbel.auth.principal import Principal
from timbel.core.deps import AuditDep, SessionDep, SettingsDep
from timbel.core.pagination import Page, PageDep
from timbel.notifications import service
from timbel.notifications.models import DeliveryState
from timbel.notifications.schemas import ConnectionReportRead, DeliveryRead, TestRequest

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])
Admin = Annotated[Principal, Depends(require(Permission.admin_integrations))]


def delivery_filter(
    state: DeliveryState | None = None,
    event: Annotated[str | None, Query(max_length=64)] = None,
    integration_id: Annotated[str | None, Query(max_length=36)] = None,
    domain_id: Annotated[str | None, Query(max_length=36)] = None,
) -> service.DeliveryFilter:
    """Read delivery filters from the query string."""
    return service.DeliveryFilter(
        state=state.value if state else None,
        event=event or None,
        integration_id=integration_id or None,
        domain_id=domain_id or None,
    )


FilterDep = Annotated[service.DeliveryFilter, Depends(delivery_filter)]


@router.get("/deliveries")
def list_notification_deliveries(
    _: Admin, session: SessionDep, flt: FilterDep, paging: PageDep
) -> Page[DeliveryRead]:
    """List deliveries, newest first (state, event, channel and domain filters)."""
    rows, total = service.list_deliveries(session, flt=flt, page=paging.page, per_page=paging.per_page)
    return Page[DeliveryRead](
        items=[DeliveryRead.model_validate(r) for r in rows],
        total=total,
        page=paging.page,
        per_page=paging.per_page,
    )


@router.post("/test")
def send_test_message(
    body: TestRequest, _: Admin, session: SessionDep, settings: SettingsDep, audit: AuditDep
) -> ConnectionReportRead:
    """Check a notify channel and send it a test message now; report each check (never a secret)."""
    report = service.send_test(session, settings=settings, integration_id=body.integration_id, ctx=audit)
    return ConnectionReportRead.of(report)
