"""Home page (operations dashboard shell) and the language switch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import text as sql_text
from starlette.datastructures import FormData

from timbel.auth import service as user_service
from timbel.auth.deps import cookie_principal, csrf_protect, public, require_page
from timbel.auth.permissions import Permission
from timbel.auth.principal import Principal
from timbel.auth.schemas import UserUpdate
from timbel.core.db import utcnow
from timbel.core.deps import AuditDep, SessionDep, SettingsDep
from timbel.web.forms import read_form, text
from timbel.web.i18n import LOCALE_COOKIE, LOCALE_COOKIE_SECONDS, N_
from timbel.web.redirects import redirect, safe_next, set_cookie
from timbel.web.templating import render

router = APIRouter(tags=["web"], include_in_schema=False)
DATABASE_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


@dataclass(frozen=True, slots=True)
class Check:
    """One readiness check shown on the dashboard."""

    label: str
    ok: bool
    detail: str


NOT_CONFIGURED = (
    {
        "id": "sla",
        "title": N_("SLA monitoring"),
        "text": N_("Not configured yet: uptime and SLOs appear here once monitors exist."),
    },
    {
        "id": "infrastructure",
        "title": N_("Infrastructure"),
        "text": N_("Not configured yet: cluster and registry state appear here once integrations are added."),
    },
)


def _platform_checks(request: Request) -> list[Check]:
    """Check the database and the job queue the way /readyz does."""
    engine = request.app.state.engine
    try:
        with engine.connect() as connection:
            connection.execute(sql_text("SELECT 1"))
        db_ok = True
    except Exception:
        db_ok = False
    jobs = getattr(request.app.state, "jobs", None)
    queue_ok = bool(jobs is not None and jobs.ping())
    settings = request.app.state.settings
    queue_kind = "Redis" if settings.redis_url else "SQLite"
    return [
        Check(N_("Database"), db_ok, DATABASE_NAMES.get(engine.dialect.name, engine.dialect.name)),
        Check(N_("Job queue"), queue_ok, queue_kind),
    ]


@router.get("/", response_class=HTMLResponse)
def home(
    request: Request,
    principal: Annotated[Principal, Depends(require_page())],
    settings: SettingsDep,
    session: SessionDep,
) -> HTMLResponse:
    """Show who is signed in, the platform's state and live deployment figures; unbuilt sections say so."""
    from timbel.deployments.views import dashboard_context

    deployments = dashboard_context(session, principal) if principal.has(Permission.deploy_read) else {}
    context = {
        **deployments,
        "show_deployments": bool(deployments),
        "roles": sorted(r.value for r in principal.roles),
        "all_domains": principal.has(Permission.domains_all),
        "checks": _platform_checks(request),
        "checked_at": utcnow(),
        "mode": N_("Embedded (one machine)") if settings.embedded else N_("Production"),
        "not_configured": NOT_CONFIGURED,
    }
    return render(request, "home.html", context)


async def optional_principal(request: Request) -> Principal | None:
    """Return the signed-in user of a public page, if any."""
    return await cookie_principal(request)


@router.post("/locale", dependencies=[Depends(public), Depends(csrf_protect)])
def switch_locale(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    audit: AuditDep,
    form: Annotated[FormData, Depends(read_form)],
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> RedirectResponse:
    """Switch the interface language (cookie, and the user's preference when signed in)."""
    locale = text(form, "locale", limit=8)
    response = redirect(request, safe_next(text(form, "next", limit=2000)))
    if locale not in settings.i18n.locales:
        return response
    set_cookie(request, response, LOCALE_COOKIE, locale, max_age=LOCALE_COOKIE_SECONDS)
    if principal is not None and principal.locale != locale:
        audit.actor_id, audit.actor_name = principal.user_id, principal.username
        user = user_service.get_or_raise(session, user_id=principal.user_id)
        user_service.update(
            session,
            user=user,
            data=UserUpdate.model_validate({"preferred_locale": locale}),
            actor_id=principal.user_id,
            ctx=audit,
        )
    return response
