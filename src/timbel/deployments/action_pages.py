"""What the action pages show: releases to pick, checklists with symbols, approvals with their context."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from timbel.auth.principal import Principal
from timbel.catalog import system_service
from timbel.catalog.models import System
from timbel.core.db import utcnow
from timbel.core.errors import AppError, Conflict, NotFound, PermissionDenied, ValidationFailed
from timbel.deployments import approvals, service
from timbel.deployments.checklist import ChecklistItem
from timbel.deployments.decisions import SELF_APPROVAL
from timbel.deployments.models import Release
from timbel.web.forms import FormErrors, from_app_error
from timbel.web.i18n import N_

SYMBOLS = {"pass": "✓", "fail": "✗", "unknown": "?"}
CHECK_LABELS = {
    "previous_healthy": N_("The previous environment is healthy"),
    "tests_passed": N_("The release's tests passed"),
    "no_critical_alert": N_("No critical alert"),
    "no_freeze": N_("No freeze window"),
}
MESSAGES = {
    PermissionDenied: N_("You do not have the permission for this."),
    NotFound: N_("Not found: check the system, environment and release."),
    Conflict: N_("This cannot be done now."),
    ValidationFailed: N_("Check the highlighted fields."),
}
SELF_APPROVAL_TEXT = N_(
    "You asked for this deployment, so someone else must decide it. Administrators use an emergency "
    "deployment instead."
)


def action_errors(exc: AppError) -> FormErrors:
    """Form messages for a refused action: a translated headline plus the server's exact reason."""
    errors = from_app_error(exc) if isinstance(exc, ValidationFailed) and exc.errors else FormErrors()
    if exc.detail == SELF_APPROVAL:
        errors.add(None, SELF_APPROVAL_TEXT)
        return errors
    for kind, message in MESSAGES.items():
        if isinstance(exc, kind):
            errors.add(None, message)
            break
    else:
        errors.add(None, N_("The change could not be saved."))
    errors.detail = exc.detail
    return errors


def releases_of(session: Session, *, system_id: str) -> list[Release]:
    """A system's releases, newest first."""
    return list(
        session.scalars(
            select(Release)
            .where(Release.system_id == system_id)
            .order_by(Release.created_at.desc())
            .limit(100)
        )
    )


def checklist_rows(items: list[ChecklistItem] | list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Checklist items with a symbol and a label for the page."""
    rows = []
    for item in items:
        data = item.as_dict() if isinstance(item, ChecklistItem) else dict(item)
        status = str(data.get("status") or ("pass" if data.get("passed") else "unknown"))
        key = str(data.get("key", ""))
        rows.append({**data, "status": status, "symbol": SYMBOLS.get(status, "?"),
                     "label": CHECK_LABELS.get(key, key)})  # fmt: skip
    return rows


def expires_in(moment: datetime, *, now: datetime | None = None) -> str:
    """A short "expires in" text (e.g. ``71h 5m``)."""
    seconds = max(0, int((moment - (now or utcnow())).total_seconds()))
    hours, minutes = divmod(seconds // 60, 60)
    return f"{hours}h {minutes}m" if hours else f"{minutes}m"


def approval_cards(session: Session, *, principal: Principal) -> list[dict[str, Any]]:
    """Every approval waiting for the principal with its system, release, requester and checklist."""
    cards = []
    for approval in approvals.pending_for(session, principal=principal):
        deployment = service.get_deployment(session, deployment_id=approval.deployment_id)
        system = session.get(System, deployment.system_id)
        release = service.get_release(session, release_id=deployment.release_id)
        cards.append(
            {
                "approval": approval,
                "deployment": deployment,
                "system": system,
                "release": release,
                "checklist": checklist_rows(list(deployment.checklist or [])),
                "expires_in": expires_in(approval.expires_at),
            }
        )
    return cards


def visible_systems(session: Session, *, principal: Principal) -> list[System]:
    """Systems the principal may see, by slug."""
    query = select(System).order_by(System.slug)
    limit = system_service.visible_filter(principal, System.domain_id)
    if limit is not None:
        query = query.where(limit)
    return list(session.scalars(query.limit(500)))
