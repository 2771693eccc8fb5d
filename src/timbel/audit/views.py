"""Audit log pages: filter and page the trail, export it as streamed CSV (administrators)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, StreamingResponse

from timbel.audit import service as audit_service
from timbel.audit.service import AuditFilter
from timbel.auth.deps import require_page
from timbel.auth.permissions import Permission
from timbel.auth.principal import Principal
from timbel.core.db import utcnow
from timbel.core.deps import SessionDep
from timbel.core.errors import ValidationFailed
from timbel.web.forms import FormErrors
from timbel.web.i18n import N_
from timbel.web.templating import render

router = APIRouter(prefix="/admin/audit", tags=["web"], include_in_schema=False)
Auditor = Annotated[Principal, Depends(require_page(Permission.admin_audit))]
PAGE_SIZE = 50
TIME_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")
BAD_TIME = N_("Enter a time like 2025-01-31 09:00.")
OUTCOME_LABELS = {"success": N_("Success"), "failure": N_("Failure"), "denied": N_("Denied")}
Text = Annotated[str, Query(max_length=64)]


@dataclass(frozen=True, slots=True)
class Filters:
    """The audit filters as typed in the form, and the parsed filter they give."""

    values: dict[str, str]
    flt: AuditFilter
    errors: FormErrors


def _parse_time(value: str, tz: tzinfo) -> datetime | None:
    for fmt in TIME_FORMATS:
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=tz)
        except ValueError:
            continue
    return None


def audit_filters(
    request: Request,
    actor: Text = "",
    action: Text = "",
    target_type: Text = "",
    target_id: Text = "",
    since: Text = "",
    until: Text = "",
) -> Filters:
    """Read the filter form (times in the display time zone; bad times are reported, not applied)."""
    tz = ZoneInfo(request.app.state.settings.i18n.timezone)
    values = {
        "actor": actor.strip(),
        "action": action.strip(),
        "target_type": target_type.strip(),
        "target_id": target_id.strip(),
        "since": since.strip(),
        "until": until.strip(),
    }
    errors = FormErrors()
    times: dict[str, datetime | None] = {}
    for name in ("since", "until"):
        times[name] = _parse_time(values[name], tz) if values[name] else None
        if values[name] and times[name] is None:
            errors.add(name, BAD_TIME)
    flt = AuditFilter(
        actor=values["actor"] or None,
        action=values["action"] or None,
        target_type=values["target_type"] or None,
        target_id=values["target_id"] or None,
        since=times["since"],
        until=times["until"],
    )
    return Filters(values=values, flt=flt, errors=errors)


FiltersDep = Annotated[Filters, Depends(audit_filters)]


@router.get("", response_class=HTMLResponse)
def audit_log(
    request: Request,
    _: Auditor,
    session: SessionDep,
    filters: FiltersDep,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> HTMLResponse:
    """List audit entries, newest first, with filters and paging."""
    rows, total = audit_service.list_entries(session, flt=filters.flt, page=page, per_page=PAGE_SIZE)
    context: dict[str, Any] = {
        "rows": rows,
        "total": total,
        "page": page,
        "pages": max(1, math.ceil(total / PAGE_SIZE)),
        "filters": filters.values,
        "errors": filters.errors,
        "outcome_labels": OUTCOME_LABELS,
    }
    status = 422 if filters.errors else 200
    return render(request, "admin/audit.html", context, status_code=status)


@router.get("/export.csv", response_class=StreamingResponse)
def audit_export(request: Request, _: Auditor, filters: FiltersDep) -> StreamingResponse:
    """Download the matching entries as CSV, streamed in batches."""
    if filters.errors:
        raise ValidationFailed("The time filter is not valid.")
    name = f"timbel-audit-{utcnow():%Y%m%d-%H%M%S}.csv"
    return StreamingResponse(
        audit_service.stream_csv(request.app.state.session_factory, flt=filters.flt),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )
