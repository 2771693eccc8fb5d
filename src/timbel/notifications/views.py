"""The delivery log page under ``/admin/notifications`` ("알림 발송 이력"; integration administrators)."""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from timbel.auth.deps import require_page
from timbel.auth.permissions import Permission
from timbel.auth.principal import Principal
from timbel.core.deps import SessionDep
from timbel.notifications import service
from timbel.notifications.models import DeliveryState
from timbel.notifications.templates import EVENTS
from timbel.web.i18n import N_
from timbel.web.templating import render

router = APIRouter(prefix="/admin/notifications", tags=["web"], include_in_schema=False)
Admin = Annotated[Principal, Depends(require_page(Permission.admin_integrations))]
PAGE_SIZE = 50
STATE_LABELS = {
    DeliveryState.pending.value: N_("Pending"),
    DeliveryState.sending.value: N_("Sending"),
    DeliveryState.sent.value: N_("Sent"),
    DeliveryState.failed.value: N_("Failed"),
}
STATE_BADGES = {
    DeliveryState.pending.value: "bg-yellow-lt",
    DeliveryState.sending.value: "bg-blue-lt",
    DeliveryState.sent.value: "bg-green-lt",
    DeliveryState.failed.value: "bg-red-lt",
}
Text = Annotated[str, Query(max_length=64)]


@router.get("", response_class=HTMLResponse)
def delivery_log(
    request: Request,
    _: Admin,
    session: SessionDep,
    state: Text = "",
    event: Text = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> HTMLResponse:
    """List deliveries, newest first, with their state, attempts and last error; filter by state and event."""
    values = {
        "state": state if state in STATE_LABELS else "",
        "event": event if event in EVENTS else "",
    }
    flt = service.DeliveryFilter(state=values["state"] or None, event=values["event"] or None)
    rows, total = service.list_deliveries(session, flt=flt, page=page, per_page=PAGE_SIZE)
    context: dict[str, Any] = {
        "rows": rows,
        "total": total,
        "page": page,
        "pages": max(1, math.ceil(total / PAGE_SIZE)),
        "filters": values,
        "events": EVENTS,
        "state_labels": STATE_LABELS,
        "state_badges": STATE_BADGES,
        "max_attempts": service.MAX_ATTEMPTS,
    }
    return render(request, "notifications/deliveries.html", context)
