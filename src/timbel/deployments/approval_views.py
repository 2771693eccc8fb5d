"""승인 대기 (pending approvals) page, its approve/reject forms, and the cancel button of a deployment.

Included by ``action_views.router``; every rule is decided by ``actions`` exactly as for the API.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import Response

from timbel.auth.deps import require_page
from timbel.auth.permissions import Permission
from timbel.auth.principal import Principal
from timbel.core.deps import AuditDep, SessionDep
from timbel.core.errors import AppError, Conflict
from timbel.deployments import action_pages as pages
from timbel.deployments import actions, service
from timbel.web.forms import FormErrors, discard_changes, read_form, text
from timbel.web.redirects import redirect
from timbel.web.templating import render

router = APIRouter(tags=["web"], include_in_schema=False)
Reader = Annotated[Principal, Depends(require_page(Permission.deploy_read))]
Form = Annotated[FormData, Depends(read_form)]


def _enqueue(request: Request) -> service.Enqueue:
    enqueue: service.Enqueue = request.app.state.jobs.enqueue
    return enqueue


# ---- 승인 대기 -----------------------------------------------------------------------------------------


def _approvals_page(
    request: Request, session: Session, principal: Principal, errors: FormErrors | None = None,
    failed: str = "", comment: str = "",
) -> HTMLResponse:  # fmt: skip
    context = {
        "cards": pages.approval_cards(session, principal=principal),
        "errors": errors or FormErrors(), "failed": failed, "comment": comment,
    }  # fmt: skip
    return render(request, "deployments/approvals.html", context, status_code=422 if errors else 200)


@router.get("/approvals", response_class=HTMLResponse)
def approvals_page(request: Request, principal: Reader, session: SessionDep) -> HTMLResponse:
    """승인 대기: the requests waiting for me, with what they would deploy and the checklist."""
    return _approvals_page(request, session, principal)


@router.post("/approvals/{deployment_id}/{decision}")
def approvals_decide(
    deployment_id: str, decision: str, request: Request, principal: Reader, session: SessionDep,
    audit: AuditDep, form: Form,
) -> Response:  # fmt: skip
    """Approve or reject one request (rejecting needs a comment); then open the deployment."""
    comment = text(form, "comment", limit=2000)
    try:
        if decision == "approve":
            actions.approve(session, principal=principal, ctx=audit, enqueue=_enqueue(request),
                            deployment_id=deployment_id, comment=comment)  # fmt: skip
            flash = "deployment_approved"
        elif decision == "reject":
            actions.reject(session, principal=principal, ctx=audit, enqueue=_enqueue(request),
                           deployment_id=deployment_id, comment=comment)  # fmt: skip
            flash = "deployment_rejected"
        else:
            raise Conflict(f"Unknown decision {decision!r}.")
    except AppError as exc:
        discard_changes(session, exc)
        errors = pages.action_errors(exc)
        return _approvals_page(request, session, principal, errors, failed=deployment_id, comment=comment)
    return redirect(request, f"/deployments/{deployment_id}", flash=flash)


@router.post("/deployments/{deployment_id}/cancel")
def deployment_cancel(
    deployment_id: str, request: Request, principal: Reader, session: SessionDep, audit: AuditDep, form: Form
) -> Response:
    """Cancel a waiting deployment (requester or administrator) and show it again."""
    actions.cancel(session, principal=principal, ctx=audit, enqueue=_enqueue(request),
                   deployment_id=deployment_id, reason=text(form, "reason", limit=2000))  # fmt: skip
    return redirect(request, f"/deployments/{deployment_id}", flash="deployment_cancelled")
