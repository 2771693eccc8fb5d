"""Deployment pages: "what runs where" (``/deployments``), one deployment (live), a system's timeline,
the release diff, and the home dashboard's live fragment.

Reading needs ``deploy:read``; everything is scoped to the caller's domains (others answer 404).
"""

from __future__ import annotations

from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import StreamingResponse

from timbel.auth.deps import require_page
from timbel.auth.permissions import Permission
from timbel.auth.principal import Principal
from timbel.catalog import system_service
from timbel.core.deps import SessionDep, SettingsDep
from timbel.core.errors import NotFound
from timbel.deployments import dashboard, detail, diff, events, read_service, service
from timbel.deployments.models import Release
from timbel.deployments.read_routes import visible_release
from timbel.deployments.view_labels import duration, labels
from timbel.web import i18n
from timbel.web.templating import environment, render

router = APIRouter(tags=["web"], include_in_schema=False)
Reader = Annotated[Principal, Depends(require_page(Permission.deploy_read))]
Timing = Annotated[events.EventTiming, Depends(events.event_timing)]


def page_labels() -> dict[str, Any]:
    """Labels plus the duration formatter every deployment template uses."""
    return {**labels(), "duration": duration}


def fragment(request: Request, template: str, context: dict[str, Any]) -> str:
    """Render a partial (for an event stream) in the request's locale and display time zone."""
    settings = request.app.state.settings
    shared = {"display_tz": ZoneInfo(settings.i18n.timezone), **page_labels(), **context}
    with i18n.use_locale(i18n.locale_for(request)):
        return environment.get_template(template).render(shared)


# ---- home dashboard (live fragment) -------------------------------------------------------------------


def dashboard_context(session: Session, principal: Principal) -> dict[str, Any]:
    """What the home page's deployment cards show."""
    return {"snapshot": dashboard.snapshot(session, principal=principal), **page_labels()}


@router.get("/dashboard/events", response_class=StreamingResponse)
def dashboard_stream(request: Request, principal: Reader, timing: Timing) -> StreamingResponse:
    """The home dashboard's deployment cards as HTML over Server-Sent Events, sent when a figure changes."""

    def build(session: Session) -> tuple[str, str, bool]:
        snap = dashboard.snapshot(session, principal=principal)
        return "snapshot", fragment(request, "deployments/_dashboard.html", {"snapshot": snap}), False

    return events.response(
        events.changes(
            request,
            marker=lambda s: dashboard.change_marker(s, principal=principal),
            build=build,
            timing=timing,
            first=False,
        )
    )


# ---- what runs where ----------------------------------------------------------------------------------


@router.get("/deployments", response_class=HTMLResponse)
def matrix_page(
    request: Request,
    principal: Reader,
    session: SessionDep,
    settings: SettingsDep,
    domain: Annotated[str, Query(max_length=100)] = "",
) -> HTMLResponse:
    """Systems × environments: release, digests, deployed at/by, last state, health, drift; by domain."""
    domains = read_service.visible_domains(session, principal=principal)
    groups = read_service.matrix(session, principal=principal, settings=settings, domain=domain or None)
    can_promote = principal.has(Permission.deploy_nonprod) or principal.has(Permission.deploy_prod)
    context = {"groups": groups, "domains": domains, "domain": domain, "can_promote": can_promote}
    return render(request, "deployments/matrix.html", {**context, **page_labels()})


# ---- one deployment -----------------------------------------------------------------------------------


@router.get("/deployments/{deployment_id}", response_class=HTMLResponse)
def deployment_page(
    deployment_id: str, request: Request, principal: Reader, session: SessionDep
) -> HTMLResponse:
    """A deployment: state history, release, target, GitOps commit, commits, checks, approval, rollbacks."""
    row = read_service.visible_deployment(session, principal=principal, deployment_id=deployment_id)
    return render(
        request, "deployments/detail.html", {"d": detail.detail(session, deployment=row), **page_labels()}
    )


@router.get("/deployments/{deployment_id}/events", response_class=StreamingResponse)
def deployment_stream(
    deployment_id: str, request: Request, principal: Reader, session: SessionDep, timing: Timing
) -> StreamingResponse:
    """The deployment page's changing part as HTML over Server-Sent Events until the deployment ends."""
    row = read_service.visible_deployment(session, principal=principal, deployment_id=deployment_id)

    def build(s: Session) -> tuple[str, str, bool]:
        data = detail.detail(s, deployment=service.get_deployment(s, deployment_id=row.id))
        html = fragment(request, "deployments/_detail_body.html", {"d": data})
        return ("end" if data["terminal"] else "deployment"), html, bool(data["terminal"])

    return events.response(
        events.changes(
            request,
            marker=lambda s: detail.change_marker(s, deployment_id=row.id),
            build=build,
            timing=timing,
            first=False,
        )
    )


# ---- a system's timeline ------------------------------------------------------------------------------


@router.get("/systems/{system_id}/deployments", response_class=HTMLResponse)
def timeline_page(
    system_id: str,
    request: Request,
    principal: Reader,
    session: SessionDep,
    env: Annotated[str, Query(max_length=32)] = "",
) -> HTMLResponse:
    """Every deployment of a system, per environment tab, newest first."""
    system = system_service.get_visible_or_raise(session, principal=principal, system_id=system_id)
    envs = [e.name for e in service.environments_for(session, domain_id=system.domain_id)]
    chosen = env if env in envs else ""
    context = {
        "system": system,
        "environments": envs,
        "env": chosen,
        "rows": read_service.timeline(session, system=system, env=chosen or None),
        **page_labels(),
    }
    return render(request, "deployments/timeline.html", context)


# ---- release diff -------------------------------------------------------------------------------------


@router.get("/releases/diff", response_class=HTMLResponse)
def diff_page(
    request: Request,
    principal: Reader,
    session: SessionDep,
    settings: SettingsDep,
    a: Annotated[str, Query(max_length=36)] = "",
    b: Annotated[str, Query(max_length=36)] = "",
    system_id: Annotated[str, Query(max_length=36)] = "",
) -> HTMLResponse:
    """Compare two releases of one system; without both, pick them from the system's releases."""
    first = visible_release(session, principal=principal, release_id=a) if a else None
    second = visible_release(session, principal=principal, release_id=b) if b else None
    owner = system_id or (first.system_id if first else second.system_id if second else "")
    if not owner:
        raise NotFound("Choose the releases to compare from a system's releases.")
    system = system_service.get_visible_or_raise(session, principal=principal, system_id=owner)
    choices = list(
        session.scalars(
            select(Release).where(Release.system_id == system.id).order_by(Release.created_at.desc())
        )
    )
    result = None
    if first is not None and second is not None:
        result = diff.release_diff(session, settings=settings, system=system, a=first, b=second)
    context = {"system": system, "choices": choices, "a": a, "b": b, "result": result, **page_labels()}
    return render(request, "deployments/diff.html", context)
