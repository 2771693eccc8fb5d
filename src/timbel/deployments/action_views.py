"""Deployment action pages: deploy, promote (checklist), roll back, 배포 요청, and 승인 대기 (approvals).

Pages only collect input; every rule (permissions, domains, approvals, freeze windows, emergencies) is
decided by ``actions`` exactly as for the API. A refused action re-renders its form with the reason and
what the user typed; a started one opens the deployment's page.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import Response

from timbel.auth.deps import require_page
from timbel.auth.permissions import Permission, Role
from timbel.auth.principal import Principal
from timbel.catalog import system_service
from timbel.catalog.models import System
from timbel.core.deps import AuditDep, SessionDep, SettingsDep
from timbel.core.errors import AppError
from timbel.deployments import action_pages as pages
from timbel.deployments import actions, approval_views, checklist, service
from timbel.deployments.models import Release
from timbel.web.forms import FormErrors, discard_changes, read_form, text
from timbel.web.i18n import N_
from timbel.web.redirects import redirect, register_flashes
from timbel.web.templating import render

router = APIRouter(tags=["web"], include_in_schema=False)
Reader = Annotated[Principal, Depends(require_page(Permission.deploy_read))]
Form = Annotated[FormData, Depends(read_form)]
register_flashes(
    {
        "deployment_started": N_("The deployment was started."),
        "deployment_pending": N_("The deployment waits for an approver."),
        "deployment_approved": N_("The deployment was approved and starts now."),
        "deployment_rejected": N_("The deployment was rejected."),
        "deployment_cancelled": N_("The deployment was cancelled."),
    }
)


def _enqueue(request: Request) -> service.Enqueue:
    enqueue: service.Enqueue = request.app.state.jobs.enqueue
    return enqueue


def _typed(form: FormData, *names: str) -> dict[str, str]:
    return {name: text(form, name, limit=2000) for name in names}


def _done(request: Request, deployment_id: str, state: str) -> Response:
    flash = "deployment_pending" if state == "pending_approval" else "deployment_started"
    return redirect(request, f"/deployments/{deployment_id}", flash=flash)


def _base(session: Session, principal: Principal, system: System) -> dict[str, Any]:
    return {
        "system": system,
        "environments": service.environments_for(session, domain_id=system.domain_id),
        "is_admin": Role.admin in principal.roles,
        "errors": FormErrors(),
    }


# ---- deploy ------------------------------------------------------------------------------------------


def _deploy_page(
    request: Request, session: Session, principal: Principal, system: System, form: dict[str, str],
    errors: FormErrors | None = None,
) -> HTMLResponse:  # fmt: skip
    context = _base(session, principal, system) | {
        "form": form, "releases": pages.releases_of(session, system_id=system.id),
    }  # fmt: skip
    context["errors"] = errors or FormErrors()
    return render(request, "deployments/action_deploy.html", context, status_code=422 if errors else 200)


@router.get("/systems/{system_id}/deploy", response_class=HTMLResponse)
def deploy_form(
    system_id: str, request: Request, principal: Reader, session: SessionDep,
    env: Annotated[str, Query(max_length=32)] = "", release: Annotated[str, Query(max_length=100)] = "",
) -> HTMLResponse:  # fmt: skip
    """The deploy form: environment, release, reason (and the emergency box for administrators)."""
    system = system_service.get_visible_or_raise(session, principal=principal, system_id=system_id)
    form = {"env": env, "release": release, "reason": "", "emergency": ""}
    return _deploy_page(request, session, principal, system, form)


@router.post("/systems/{system_id}/deploy")
def deploy_submit(
    system_id: str, request: Request, principal: Reader, session: SessionDep, settings: SettingsDep,
    audit: AuditDep, form: Form,
) -> Response:  # fmt: skip
    """Start the deployment, or show the form again with the reason it was refused."""
    system = system_service.get_visible_or_raise(session, principal=principal, system_id=system_id)
    typed = _typed(form, "env", "release", "reason", "emergency")
    try:
        release = service.find_release(session, system_id=system.id, ref=typed["release"] or "-")
        row = actions.deploy(
            session, principal=principal, settings=settings, ctx=audit, enqueue=_enqueue(request),
            system=system, env=typed["env"], release=release, reason=typed["reason"],
            emergency=bool(typed["emergency"]),
        )  # fmt: skip
    except AppError as exc:
        discard_changes(session, exc)
        return _deploy_page(request, session, principal, system, typed, pages.action_errors(exc))
    return _done(request, row.id, row.state)


# ---- promote -----------------------------------------------------------------------------------------


def _promote_page(
    request: Request, session: Session, principal: Principal, system: System, settings: Any, to: str,
    form: dict[str, str], errors: FormErrors | None = None,
) -> HTMLResponse:  # fmt: skip
    context = _base(session, principal, system) | {"form": form, "to": to}
    target = service.get_environment(session, domain_id=system.domain_id, name=to)
    previous = service.previous_environment(session, domain_id=system.domain_id, name=to)
    current = service.last_good(session, system_id=system.id, environment=previous.name) if previous else None
    items = checklist.promotion_checklist(session, settings=settings, system=system, to_env=to)
    context |= {
        "target": target,
        "previous": previous,
        "release": service.get_release(session, release_id=current.release_id) if current else None,
        "current": current,
        "items": pages.checklist_rows(items),
        "refused": current is None or bool(checklist.blocking_failures(items)),
        "errors": errors or FormErrors(),
    }
    return render(request, "deployments/action_promote.html", context, status_code=422 if errors else 200)


@router.get("/systems/{system_id}/promote", response_class=HTMLResponse)
def promote_form(
    system_id: str, request: Request, principal: Reader, session: SessionDep, settings: SettingsDep,
    to: Annotated[str, Query(min_length=1, max_length=32)],
) -> HTMLResponse:  # fmt: skip
    """The promotion page: the release in the previous environment, its digests and the checklist."""
    system = system_service.get_visible_or_raise(session, principal=principal, system_id=system_id)
    return _promote_page(request, session, principal, system, settings, to, {"reason": "", "emergency": ""})


@router.post("/systems/{system_id}/promote")
def promote_submit(
    system_id: str, request: Request, principal: Reader, session: SessionDep, settings: SettingsDep,
    audit: AuditDep, form: Form,
) -> Response:  # fmt: skip
    """Promote (or ask for approval), or show the checklist again with the reason it was refused."""
    system = system_service.get_visible_or_raise(session, principal=principal, system_id=system_id)
    typed = _typed(form, "to", "reason", "emergency")
    try:
        row = actions.promote(
            session, principal=principal, settings=settings, ctx=audit, enqueue=_enqueue(request),
            system=system, to_env=typed["to"], reason=typed["reason"], emergency=bool(typed["emergency"]),
        )  # fmt: skip
    except AppError as exc:
        discard_changes(session, exc)
        errors = pages.action_errors(exc)
        return _promote_page(request, session, principal, system, settings, typed["to"], typed, errors)
    return _done(request, row.id, row.state)


# ---- rollback ----------------------------------------------------------------------------------------


def _rollback_page(
    request: Request, session: Session, principal: Principal, system: System, env: str, form: dict[str, str],
    errors: FormErrors | None = None,
) -> HTMLResponse:  # fmt: skip
    service.get_environment(session, domain_id=system.domain_id, name=env)
    current = service.last_good(session, system_id=system.id, environment=env)
    good = actions.good_releases(session, system_id=system.id, env=env)
    context = _base(session, principal, system) | {
        "env": env, "form": form, "current": current,
        "choices": [(r, d) for r, d in good if current is None or r.id != current.release_id],
    }  # fmt: skip
    context["errors"] = errors or FormErrors()
    return render(request, "deployments/action_rollback.html", context, status_code=422 if errors else 200)


@router.get("/systems/{system_id}/rollback", response_class=HTMLResponse)
def rollback_form(
    system_id: str, request: Request, principal: Reader, session: SessionDep,
    env: Annotated[str, Query(min_length=1, max_length=32)],
) -> HTMLResponse:  # fmt: skip
    """The rollback page: the environment's earlier good releases to restore."""
    system = system_service.get_visible_or_raise(session, principal=principal, system_id=system_id)
    return _rollback_page(
        request, session, principal, system, env, {"to_release": "", "reason": "", "emergency": ""}
    )


@router.post("/systems/{system_id}/rollback")
def rollback_submit(
    system_id: str, request: Request, principal: Reader, session: SessionDep, settings: SettingsDep,
    audit: AuditDep, form: Form,
) -> Response:  # fmt: skip
    """Roll back, or show the page again with the reason it was refused."""
    system = system_service.get_visible_or_raise(session, principal=principal, system_id=system_id)
    typed = _typed(form, "env", "to_release", "reason", "emergency")
    try:
        target: Release | None = None
        if typed["to_release"]:
            target = service.find_release(session, system_id=system.id, ref=typed["to_release"])
        row = actions.rollback(
            session, principal=principal, settings=settings, ctx=audit, enqueue=_enqueue(request),
            system=system, env=typed["env"], to_release=target, reason=typed["reason"],
            emergency=bool(typed["emergency"]),
        )  # fmt: skip
    except AppError as exc:
        discard_changes(session, exc)
        errors = pages.action_errors(exc)
        return _rollback_page(request, session, principal, system, typed["env"], typed, errors)
    return _done(request, row.id, row.state)


# ---- 배포 요청 -----------------------------------------------------------------------------------------


def _request_page(
    request: Request, session: Session, principal: Principal, form: dict[str, str],
    errors: FormErrors | None = None,
) -> HTMLResponse:  # fmt: skip
    systems = pages.visible_systems(session, principal=principal)
    chosen = next((s for s in systems if s.id == form.get("system")), None)
    context = {
        "form": form, "systems": systems, "chosen": chosen, "errors": errors or FormErrors(),
        "environments": service.environments_for(session, domain_id=chosen.domain_id) if chosen else [],
        "releases": pages.releases_of(session, system_id=chosen.id) if chosen else [],
    }  # fmt: skip
    return render(request, "deployments/action_request.html", context, status_code=422 if errors else 200)


@router.get("/deployments/requests/new", response_class=HTMLResponse)
def request_form(
    request: Request, principal: Reader, session: SessionDep,
    system: Annotated[str, Query(max_length=36)] = "",
) -> HTMLResponse:  # fmt: skip
    """The 배포 요청 form: system, environment, release and why."""
    return _request_page(
        request, session, principal, {"system": system, "env": "", "release": "", "reason": ""}
    )


@router.post("/deployments/requests/new")
def request_submit(
    request: Request, principal: Reader, session: SessionDep, settings: SettingsDep, audit: AuditDep,
    form: Form,
) -> Response:  # fmt: skip
    """Ask for the deployment, or show the form again with the reason it was refused."""
    typed = _typed(form, "system", "env", "release", "reason")
    try:
        system = system_service.get_visible_or_raise(session, principal=principal, system_id=typed["system"])
        release = service.find_release(session, system_id=system.id, ref=typed["release"] or "-")
        row = actions.request(
            session, principal=principal, settings=settings, ctx=audit, enqueue=_enqueue(request),
            system=system, env=typed["env"], release=release, reason=typed["reason"],
        )  # fmt: skip
    except AppError as exc:
        discard_changes(session, exc)
        return _request_page(request, session, principal, typed, pages.action_errors(exc))
    return _done(request, row.id, row.state)


router.include_router(approval_views.router)
